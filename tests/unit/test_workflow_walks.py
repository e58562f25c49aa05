"""``HuiqianWorkflow``'s cheap walks behave as SpiffWorkflow's own (engine/workflow_walks.py).

One process runs side by side on the library's ``BpmnWorkflow`` and on
``HuiqianWorkflow``: parallel script tasks (several READY engine tasks at once,
where order decides the merged data), then a user task with a boundary timer
beside a timer catch (several WAITING tasks).  After every step both trees must
hold the same tasks, states and data, in the library's walk order.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task, TaskState
from SpiffWorkflow.workflow import Workflow

from engine.process_parser import parse_bpmn
from engine.runtime import SpecBundle
from engine.sandbox import create_script_engine
from engine.workflow_walks import HuiqianWorkflow
from tests.bpmn_documents import NO_DEPENDENCIES, process_document

_SCRIPTS = "".join(
    f'<bpmn:scriptTask id="s{i}"><bpmn:script>trace = trace + ["s{i}"]</bpmn:script>'
    f"</bpmn:scriptTask>"
    f'<bpmn:sequenceFlow id="a{i}" sourceRef="fork" targetRef="s{i}"/>'
    f'<bpmn:sequenceFlow id="b{i}" sourceRef="s{i}" targetRef="join"/>'
    for i in (1, 2, 3)
)
PROCESS = process_document(
    "walks",
    f"""\
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="fork"/>
    <bpmn:parallelGateway id="fork"/>
    {_SCRIPTS}
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="f2" sourceRef="join" targetRef="split"/>
    <bpmn:parallelGateway id="split"/>
    <bpmn:sequenceFlow id="f3" sourceRef="split" targetRef="review"/>
    <bpmn:sequenceFlow id="f4" sourceRef="split" targetRef="wait"/>
    <bpmn:userTask id="review" huiqian:candidateDepartments="hrss"/>
    <bpmn:boundaryEvent id="late" attachedToRef="review" cancelActivity="false">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT2H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="late" targetRef="late_end"/>
    <bpmn:endEvent id="late_end"/>
    <bpmn:intermediateCatchEvent id="wait">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"P1D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f6" sourceRef="review" targetRef="merge"/>
    <bpmn:sequenceFlow id="f7" sourceRef="wait" targetRef="merge"/>
    <bpmn:parallelGateway id="merge"/>
    <bpmn:sequenceFlow id="f8" sourceRef="merge" targetRef="done"/>
    <bpmn:endEvent id="done"/>
""",
)


def _bundle() -> SpecBundle:
    [process] = parse_bpmn(PROCESS, "walks.bpmn", NO_DEPENDENCIES)
    return SpecBundle(process.spec, process.subprocess_specs)


def _started(kind: type[BpmnWorkflow]) -> BpmnWorkflow:
    bundle = _bundle()
    workflow = kind(bundle.spec, bundle.subprocess_specs, script_engine=create_script_engine())
    workflow.task_tree.data.update({"trace": []})
    workflow.do_engine_steps()
    return workflow


def _tree(workflow: BpmnWorkflow) -> list[tuple[str, str, str]]:
    """Each task in the library's walk order: spec, state and data."""
    return [
        (
            task.task_spec.name,
            TaskState.get_name(task.state),
            json.dumps(task.data, sort_keys=True, default=str),
        )
        for task in Workflow.get_tasks(workflow)
    ]


def _by_spec(workflow: BpmnWorkflow, name: str) -> Task:
    return next(t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == name)


@pytest.fixture
def pair() -> tuple[BpmnWorkflow, HuiqianWorkflow]:
    library, ours = _started(BpmnWorkflow), _started(HuiqianWorkflow)
    assert isinstance(ours, HuiqianWorkflow)
    return library, ours


def test_parallel_engine_tasks_run_in_the_library_order(pair: Any) -> None:
    library, ours = pair
    assert _tree(ours) == _tree(library)
    assert [t.task_spec.name for t in ours.get_tasks(state=TaskState.WAITING)] == [
        "late",
        "wait",
    ]


def test_waiting_tasks_are_updated_in_the_library_order(
    pair: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _library, ours = pair
    seen: dict[str, list[str]] = {"library": [], "ours": []}
    for label, update in (
        ("library", lambda: Workflow.update_waiting_tasks(ours)),
        ("ours", ours.update_waiting_tasks),
    ):
        for spec in ours.spec.task_specs.values():
            monkeypatch.setattr(
                spec, "_update", lambda task, _l=label: seen[_l].append(str(task.id))
            )
        update()
    assert seen["ours"] == seen["library"]
    assert len(seen["ours"]) >= 2


def test_completion_and_waiting_match_step_by_step(pair: Any) -> None:
    library, ours = pair
    for workflow in (library, ours):
        assert not workflow.is_completed()
        review = _by_spec(workflow, "review")
        review.data.update({"decision": "approve"})
        review.run()
        workflow.do_engine_steps()
    assert _tree(ours) == _tree(library)
    assert ours.is_completed() == library.is_completed() is False
    for workflow in (library, ours):
        wait = next(t for t in workflow.get_tasks(spec_name="wait", state=TaskState.WAITING))
        wait._set_state(TaskState.READY)  # as a fired timer leaves it
        workflow.do_engine_steps()
    assert _tree(ours) == _tree(library)
    assert ours.is_completed() is library.is_completed() is True


def test_no_waiting_task_means_no_walk(monkeypatch: pytest.MonkeyPatch) -> None:
    workflow = _started(HuiqianWorkflow)
    for task in workflow.get_tasks(state=TaskState.WAITING):
        task._set_state(TaskState.CANCELLED)
    called: list[Task] = []
    for spec in workflow.spec.task_specs.values():
        monkeypatch.setattr(spec, "_update", called.append)
    workflow.update_waiting_tasks()
    assert called == []
