"""engine.approvals.multi_instance: signers of a running multi-instance change (加签, 减签).

SpiffWorkflow 3.2 fixes a multi-instance's instances when it starts and keeps a parallel
loop open until every instance is COMPLETED.  Each test drives a bare workflow with
Huiqian's parser: a review over a mapping of departments, answered one task at a time.
"""

from __future__ import annotations

from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.task import Task, TaskState

from engine.approvals import multi_instance
from engine.approvals.multi_instance import Position
from engine.errors import Conflict, InvalidInput, NotFound
from engine.process_parser import HuiqianBpmnParser
from engine.sandbox import create_script_engine

REVIEW_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  id="review_definitions" targetNamespace="http://huiqian.dev/bpmn">
  <bpmn:process id="review" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_sign" sourceRef="start" targetRef="sign"/>
    <bpmn:userTask id="sign">
      <bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}">
        <bpmn:loopDataInputRef>reviewers</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>opinions</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="department" name="department"/>
        <bpmn:outputDataItem id="answer" name="answer"/>
        {condition}
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="to_end" sourceRef="sign" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
HALF_ANSWERED = (
    "<bpmn:completionCondition>len(opinions) * 2 &gt;= len(reviewers)</bpmn:completionCondition>"
)
ANY_APPROVAL = (
    "<bpmn:completionCondition>"
    "len([a for a in opinions.values() if a == 'approve']) &gt;= 1"
    "</bpmn:completionCondition>"
)


def review(
    departments: list[str],
    sequential: bool = False,
    condition: str = "",
    parser: SpiffBpmnParser | None = None,
) -> BpmnWorkflow:
    xml = REVIEW_BPMN.replace("{sequential}", str(sequential).lower())
    parser = parser or HuiqianBpmnParser()
    parser.add_bpmn_str(xml.replace("{condition}", condition).encode(), "review.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("review"), script_engine=create_script_engine())
    workflow.task_tree.data["reviewers"] = {code: code for code in departments}
    workflow.do_engine_steps()
    return workflow


def loop(workflow: BpmnWorkflow) -> Task:
    [found] = multi_instance.running_loops(workflow.get_tasks())
    return found


def open_departments(workflow: BpmnWorkflow) -> list[str]:
    return [t.data["department"] for t in workflow.get_tasks(state=TaskState.READY, manual=True)]


def in_state(workflow: BpmnWorkflow, state: int, **kwargs: Any) -> list[Task]:
    """Tasks in ``state``; SpiffWorkflow's own state filter skips the children of open tasks."""
    return [t for t in workflow.get_tasks(**kwargs) if t.state == state]


def answer(workflow: BpmnWorkflow, department: str, decision: str = "approve") -> None:
    [task] = [
        t
        for t in workflow.get_tasks(state=TaskState.READY, manual=True)
        if t.data["department"] == department
    ]
    task.data["answer"] = decision
    task.run()
    workflow.do_engine_steps()


def change(workflow: BpmnWorkflow, edit: Any) -> None:
    the_loop = loop(workflow)
    edit(the_loop)
    multi_instance.settle(the_loop)
    workflow.do_engine_steps()


def test_spiffworkflow_parallel_loop_stays_open_for_ever_with_a_cancelled_instance() -> None:
    workflow = review(["hrss", "fin"], parser=SpiffBpmnParser())
    [fin] = [t for t in workflow.get_tasks(state=TaskState.READY) if t.data["department"] == "fin"]
    fin.cancel()
    answer(workflow, "hrss")
    assert not workflow.is_completed()
    assert [t.state for t in workflow.get_tasks(spec_name="sign")] == [TaskState.STARTED]


def test_removed_signer_no_longer_holds_the_loop_open() -> None:
    workflow = review(["hrss", "fin", "agri"])
    change(workflow, lambda the_loop: multi_instance.remove(the_loop, "fin"))
    assert sorted(open_departments(workflow)) == ["agri", "hrss"]
    answer(workflow, "hrss")
    answer(workflow, "agri")
    assert workflow.is_completed()
    assert workflow.data["opinions"] == {"hrss": "approve", "agri": "approve"}
    assert "fin" not in workflow.data["reviewers"]


def test_parallel_signer_gets_an_instance_at_once_and_its_answer_is_collected() -> None:
    workflow = review(["hrss", "fin"])
    change(workflow, lambda the_loop: multi_instance.add(the_loop, ["edu"], Position.PARALLEL))
    assert sorted(open_departments(workflow)) == ["edu", "fin", "hrss"]
    for department in ("edu", "fin", "hrss"):
        answer(workflow, department)
    assert workflow.is_completed()
    assert workflow.data["opinions"] == {"hrss": "approve", "fin": "approve", "edu": "approve"}


def test_signers_added_after_start_once_the_pending_ones_have_answered() -> None:
    workflow = review(["hrss", "fin"])
    change(workflow, lambda the_loop: multi_instance.add(the_loop, ["edu"], Position.AFTER))
    assert multi_instance.signers_of(loop(workflow)).queued == ["edu"]
    answer(workflow, "hrss")
    assert open_departments(workflow) == ["fin"]
    answer(workflow, "fin")
    assert open_departments(workflow) == ["edu"]
    answer(workflow, "edu")
    assert workflow.is_completed()


def test_signers_added_before_answer_first_and_the_pending_ones_are_asked_again() -> None:
    workflow = review(["hrss", "fin", "agri"])
    answer(workflow, "hrss")
    change(workflow, lambda the_loop: multi_instance.add(the_loop, ["edu"], Position.BEFORE))
    signers = multi_instance.signers_of(loop(workflow))
    assert (signers.answered, signers.active, signers.queued) == (
        ["hrss"],
        ["edu"],
        ["fin", "agri"],
    )
    cancelled = [t.data["department"] for t in in_state(workflow, TaskState.CANCELLED)]
    assert sorted(cancelled) == ["agri", "fin"]
    answer(workflow, "edu")
    assert sorted(open_departments(workflow)) == ["agri", "fin"]
    answer(workflow, "fin")
    answer(workflow, "agri")
    assert workflow.is_completed()
    assert set(workflow.data["opinions"]) == {"hrss", "edu", "fin", "agri"}


def test_sequential_before_goes_next_ahead_of_the_department_whose_turn_it_is() -> None:
    workflow = review(["hrss", "fin", "agri"], sequential=True)
    answer(workflow, "hrss")
    assert open_departments(workflow) == ["fin"]
    change(workflow, lambda the_loop: multi_instance.add(the_loop, ["edu"], Position.BEFORE))
    assert open_departments(workflow) == ["edu"]
    assert multi_instance.signers_of(loop(workflow)).queued == ["fin", "agri"]
    for department in ("edu", "fin", "agri"):
        answer(workflow, department)
    assert workflow.is_completed()
    assert list(workflow.data["opinions"]) == ["hrss", "edu", "fin", "agri"]


def test_sequential_after_signs_at_the_end_and_parallel_is_refused() -> None:
    workflow = review(["hrss", "fin"], sequential=True)
    the_loop = loop(workflow)
    with pytest.raises(InvalidInput, match="one signer at a time"):
        multi_instance.add(the_loop, ["edu"], Position.PARALLEL)
    change(workflow, lambda the_loop: multi_instance.add(the_loop, ["edu"], Position.AFTER))
    for department in ("hrss", "fin", "edu"):
        assert open_departments(workflow) == [department]
        answer(workflow, department)
    assert workflow.is_completed()


def test_removing_the_current_signer_of_a_sequential_review_asks_the_next_one() -> None:
    workflow = review(["hrss", "fin", "agri"], sequential=True)
    change(workflow, lambda the_loop: multi_instance.remove(the_loop, "hrss"))
    assert open_departments(workflow) == ["fin"]
    answer(workflow, "fin")
    answer(workflow, "agri")
    assert list(workflow.data["opinions"]) == ["fin", "agri"]


def test_a_removal_that_decides_the_rule_ends_the_loop() -> None:
    workflow = review(["hrss", "fin", "agri", "edu"], condition=HALF_ANSWERED)
    answer(workflow, "hrss")
    change(workflow, lambda the_loop: multi_instance.remove(the_loop, "fin"))
    assert sorted(open_departments(workflow)) == ["agri", "edu"]
    change(workflow, lambda the_loop: multi_instance.remove(the_loop, "agri"))
    assert workflow.is_completed()
    [edu] = [t for t in workflow.get_tasks(manual=True) if t.data.get("department") == "edu"]
    assert edu.state == TaskState.CANCELLED


@pytest.mark.parametrize(
    ("department", "error", "message"),
    [
        ("hrss", InvalidInput, "already answered"),
        ("edu", NotFound, "not a signer"),
        ("fin", InvalidInput, "last pending signer"),
    ],
    ids=["answered", "unknown", "last-pending"],
)
def test_only_a_pending_signer_other_than_the_last_can_be_removed(
    department: str, error: type[Exception], message: str
) -> None:
    workflow = review(["hrss", "fin"])
    answer(workflow, "hrss")
    with pytest.raises(error, match=message):
        multi_instance.remove(loop(workflow), department)


def test_existing_signers_cannot_be_added_twice() -> None:
    workflow = review(["hrss", "fin"])
    with pytest.raises(InvalidInput, match="already signers of this review: fin"):
        multi_instance.add(loop(workflow), ["fin", "edu"], Position.PARALLEL)


def test_a_reopened_answer_is_taken_out_and_its_signer_asked_again() -> None:
    workflow = review(["hrss", "fin"])
    answer(workflow, "hrss", "reject")
    the_loop = loop(workflow)
    [done] = in_state(workflow, TaskState.COMPLETED, manual=True)
    change(workflow, lambda _: multi_instance.reopen(the_loop, done))
    assert the_loop.data["opinions"] == {}
    assert sorted(open_departments(workflow)) == ["fin", "hrss"]
    answer(workflow, "hrss")
    answer(workflow, "fin")
    assert workflow.data["opinions"] == {"hrss": "approve", "fin": "approve"}


def test_answers_of_a_concluded_review_cannot_be_reopened() -> None:
    workflow = review(["hrss", "fin"], condition=ANY_APPROVAL)
    the_loop = loop(workflow)
    answer(workflow, "hrss")
    [done] = in_state(workflow, TaskState.COMPLETED, manual=True)
    with pytest.raises(Conflict, match="concluded"):
        multi_instance.reopen(the_loop, done)
