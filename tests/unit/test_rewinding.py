"""engine.approvals.rewinding: going back to an earlier task with ``reset_from_task_id``.

Each test shows what SpiffWorkflow 3.2 leaves undone after a reset and that ``rewind``
does it: a fresh id for the reset task, no stale waiting timers, whole loops re-run, and
ancestry through call activities; and that ``WorkflowRun.task`` answers None for a task
that left the workflow, where the library raises.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task, TaskState

from engine import clock
from engine.approvals import multi_instance, rewinding
from engine.process_parser import HuiqianBpmnParser
from engine.runtime import WorkflowRun
from engine.sandbox import create_script_engine
from tests.bpmn_documents import CALLER_AND_CALLEE

NS = (
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)
STEPS_BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions {NS} id="steps_definitions" targetNamespace="http://huiqian.dev/bpmn">
  <bpmn:process id="steps" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_draft" sourceRef="start" targetRef="draft"/>
    <bpmn:userTask id="draft"/>
    <bpmn:sequenceFlow id="to_sign" sourceRef="draft" targetRef="sign"/>
    <bpmn:userTask id="sign">
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>reviewers</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>opinions</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="department" name="department"/>
        <bpmn:outputDataItem id="answer" name="answer"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="to_decide" sourceRef="sign" targetRef="decide"/>
    <bpmn:userTask id="decide"/>
    <bpmn:boundaryEvent id="decide_late" attachedToRef="decide" cancelActivity="false">
      <bpmn:timerEventDefinition>
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P5D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="to_end" sourceRef="decide" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


NOW = clock.FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def running(xml: str, process: str) -> WorkflowRun:
    parser = HuiqianBpmnParser()
    parser.add_bpmn_str(xml.encode(), f"{process}.bpmn")
    workflow = BpmnWorkflow(parser.get_spec(process), parser.get_subprocess_specs(process))
    workflow.task_tree.data["reviewers"] = {"hrss": "hrss", "fin": "fin"}
    run = WorkflowRun(workflow, create_script_engine())
    with clock.using(NOW):
        run.advance()
    return run


def ready(run: WorkflowRun, name: str) -> list[Task]:
    return [t for t in run.ready_human_tasks() if t.task_spec.bpmn_id == name]


def complete(run: WorkflowRun, name: str) -> Task:
    task = ready(run, name)[0]
    with clock.using(NOW):
        run.complete(str(task.id), {"answer": "approve"} if name == "sign" else {})
    return task


def through_the_review(run: WorkflowRun) -> tuple[Task, list[Task]]:
    draft = complete(run, "draft")
    signed = [complete(run, "sign"), complete(run, "sign")]
    return draft, signed


def test_spiffworkflow_reset_keeps_the_id_so_rewind_gives_the_task_a_fresh_one() -> None:
    run = running(STEPS_BPMN, "steps")
    draft, _signed = through_the_review(run)
    old_id = draft.id
    run.workflow.reset_from_task_id(old_id)
    assert run.workflow.get_task_from_id(old_id).state == TaskState.READY

    run = running(STEPS_BPMN, "steps")
    draft, _signed = through_the_review(run)
    old_id = draft.id
    rewinding.rewind(run, draft)
    assert draft.id != old_id and draft.state == TaskState.READY
    assert run.workflow.get_task_from_id(draft.id) is draft
    assert draft in draft.parent.children
    assert all(child.parent is draft for child in draft.children)


def test_spiffworkflow_reset_leaves_dropped_timers_waiting_and_rewind_forgets_them() -> None:
    run = running(STEPS_BPMN, "steps")
    draft, _signed = through_the_review(run)
    assert [t.task_spec.bpmn_id for t in run.workflow.event_manager.tasks.values()] == [
        "decide_late"
    ]
    run.workflow.reset_from_task_id(draft.id)
    assert [t.task_spec.bpmn_id for t in run.workflow.event_manager.tasks.values()] == [
        "decide_late"
    ]

    run = running(STEPS_BPMN, "steps")
    draft, _signed = through_the_review(run)
    rewinding.rewind(run, draft)
    assert run.workflow.event_manager.tasks == {}


def test_returning_to_an_answer_of_a_loop_reruns_the_whole_loop() -> None:
    run = running(STEPS_BPMN, "steps")
    _draft, signed = through_the_review(run)
    point = rewinding.reset_point(signed[0])
    assert point is multi_instance.loop_of(signed[0])
    rewinding.rewind(run, point)
    with clock.using(NOW):
        run.advance()
    again = ready(run, "sign")
    assert len(again) == 2 and not {t.id for t in again} & {t.id for t in signed}
    assert ready(run, "decide") == []


def test_lineage_and_following_cross_call_activities() -> None:
    run = running(CALLER_AND_CALLEE, "caller")
    apply = complete(run, "apply")
    [check] = ready(run, "check")
    assert apply in list(rewinding.lineage(check))
    assert check in list(rewinding.following(apply))
    assert not any(task is apply for task in check.parent.children)


def test_rewinding_into_the_caller_drops_the_called_process() -> None:
    run = running(CALLER_AND_CALLEE, "caller")
    apply = complete(run, "apply")
    rewinding.rewind(run, apply)
    with clock.using(NOW):
        run.advance()
    assert [t.task_spec.bpmn_id for t in run.ready_human_tasks()] == ["apply"]
    assert run.workflow.subprocesses == {}


def test_spiffworkflow_raises_for_a_task_that_left_the_workflow_and_the_run_answers_none() -> None:
    run = running(STEPS_BPMN, "steps")
    draft, signed = through_the_review(run)
    rewinding.rewind(run, draft)
    gone = signed[0].id
    with pytest.raises(TaskNotFoundException):
        run.workflow.get_task_from_id(gone)
    assert run.task(str(gone)) is None


def test_a_task_of_a_finished_called_process_precedes_the_callers_next_task() -> None:
    run = running(CALLER_AND_CALLEE, "caller")
    apply = complete(run, "apply")
    check = complete(run, "check")
    [decide] = ready(run, "decide")
    assert check not in list(rewinding.lineage(decide))
    assert rewinding.precedes(check, decide) and rewinding.precedes(apply, decide)
    assert not rewinding.precedes(decide, check)


def test_spiffworkflow_leaves_a_finished_called_process_completed_and_rewind_reopens_it() -> None:
    run = running(CALLER_AND_CALLEE, "caller")
    complete(run, "apply")
    check = complete(run, "check")
    [called] = run.workflow.subprocesses.values()
    run.workflow.reset_from_task_id(check.id)
    assert called.completed

    run = running(CALLER_AND_CALLEE, "caller")
    complete(run, "apply")
    check = complete(run, "check")
    [called] = run.workflow.subprocesses.values()
    rewinding.rewind(run, check)
    with clock.using(NOW):
        run.advance()
    assert not called.completed
    assert [t.task_spec.bpmn_id for t in run.ready_human_tasks()] == ["check"]
    complete(run, "check")
    assert [t.task_spec.bpmn_id for t in run.ready_human_tasks()] == ["decide"]
