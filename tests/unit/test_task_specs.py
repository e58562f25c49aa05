"""engine.task_specs: the multi-instance completion condition sees every merged answer.

SpiffWorkflow 3.2 evaluates a ``completionCondition`` in the data of the last finished
instance only.  That data holds the output collection as it was when the instance was
*created* (empty for parallel instances), so "stop at two approvals" never fires.
"""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.task import TaskState

from engine.process_parser import HuiqianBpmnParser
from engine.sandbox import create_script_engine

BALLOTS = ["approve", "reject", "approve", "approve"]

VOTE_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="vote_definitions" targetNamespace="http://huiqian.dev/bpmn">
  <bpmn:process id="vote" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_count" sourceRef="start" targetRef="count"/>
    <bpmn:userTask id="count">
      <bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}">
        <bpmn:loopDataInputRef>ballots</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>votes</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="ballot" name="ballot"/>
        <bpmn:outputDataItem id="vote" name="vote"/>
        <bpmn:completionCondition>
          len([v for v in votes if v == 'approve']) &gt;= 2
        </bpmn:completionCondition>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="to_end" sourceRef="count" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def run_vote(parser: SpiffBpmnParser, sequential: bool) -> tuple[list[str], list[Any]]:
    """Answer each open instance in turn until the vote ends; return the collected votes
    and the instances' states.

    User tasks, as in co_review: one answer per step.  (Automatic instances would all run
    in one engine step, where SpiffWorkflow also runs the instances it just cancelled.)
    """
    xml = VOTE_BPMN.replace("{sequential}", str(sequential).lower())
    parser.add_bpmn_str(xml.encode(), "vote.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("vote"), script_engine=create_script_engine())
    workflow.task_tree.data["ballots"] = list(BALLOTS)
    workflow.do_engine_steps()
    while not workflow.is_completed():
        task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data["vote"] = task.data["ballot"]
        task.run()
        workflow.do_engine_steps()
    instances = [task for task in workflow.get_tasks() if task.task_spec.name == "count [child]"]
    return workflow.last_task.data["votes"], [task.state for task in instances]


@pytest.mark.parametrize("sequential", [False, True], ids=["parallel", "sequential"])
def test_spiffworkflow_condition_sees_only_the_last_instance_and_never_stops_early(
    sequential: bool,
) -> None:
    votes, states = run_vote(SpiffBpmnParser(), sequential)
    assert votes == BALLOTS
    assert states == [TaskState.COMPLETED] * len(BALLOTS)


@pytest.mark.parametrize(
    ("sequential", "states"),
    [
        (False, [TaskState.COMPLETED] * 3 + [TaskState.CANCELLED]),
        (True, [TaskState.COMPLETED] * 3),
    ],
    ids=["parallel-cancels-the-rest", "sequential-starts-no-more"],
)
def test_huiqian_parser_condition_sees_merged_answers_and_stops_at_the_second_approval(
    sequential: bool, states: list[Any]
) -> None:
    votes, instance_states = run_vote(HuiqianBpmnParser(), sequential)
    assert votes == ["approve", "reject", "approve"]
    assert instance_states == states
