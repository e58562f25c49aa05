"""Incremental saves (engine.state_tracking, engine.state_format): what a step writes.

A parallel multi-instance over N reviewers, each task carrying an N-long roster, as
a co-review does.  Every answer's patch, applied to the previous save, must give
exactly the full dump, and its size must not grow with N.
"""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

import pytest
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter

from engine import state_diff
from engine.process_parser import parse_bpmn
from engine.runtime import SERIALIZATION, SpecBundle, WorkflowRun
from engine.sandbox import HuiqianScriptEngine, create_script_engine
from engine.state_store import LiveWorkflows, footprint
from engine.state_tracking import StateMismatch
from tests.bpmn_documents import NO_DEPENDENCIES, process_document

REVIEW_BPMN = process_document(
    "review",
    """\
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="to_review" sourceRef="start" targetRef="review_task"/>
    <bpmn:userTask id="review_task" huiqian:candidateDepartments="${reviewer}">
      <bpmn:multiInstanceLoopCharacteristics>
        <bpmn:loopDataInputRef>reviewers</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>opinions</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="reviewer" name="reviewer"/>
        <bpmn:outputDataItem id="opinion" name="opinion"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="to_tally" sourceRef="review_task" targetRef="tally"/>
    <bpmn:scriptTask id="tally">
      <bpmn:script>approved = len([o for o in opinions if o == 'approve'])</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="to_end" sourceRef="tally" targetRef="end"/>
    <bpmn:endEvent id="end"/>
""",
)


@pytest.fixture(scope="module")
def script_engine() -> HuiqianScriptEngine:
    return create_script_engine()


@pytest.fixture(scope="module")
def bundle() -> SpecBundle:
    (process,) = parse_bpmn(REVIEW_BPMN, "review.bpmn", NO_DEPENDENCIES)
    return SpecBundle(process.spec, process.subprocess_specs)


def _start(bundle: SpecBundle, engine: HuiqianScriptEngine, n: int) -> WorkflowRun:
    roster = [f"department-{i:04d}" for i in range(n)]
    return WorkflowRun.start(bundle, {"roster": roster, "reviewers": list(roster)}, engine)


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _answer(run: WorkflowRun) -> None:
    task = next(run.ready_human_tasks())
    run.complete(str(task.id), {"opinion": "approve", "completed_by": "officer"})


def _without_unused_values(state: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    return {**state, "values": {ref: state["values"][ref] for ref in like["values"]}}


def test_each_patch_applied_to_the_last_save_gives_the_full_dump(
    bundle: SpecBundle, script_engine: HuiqianScriptEngine
) -> None:
    run = _start(bundle, script_engine, 12)
    assert run.changes() is None, "the first save is a whole state"
    assert run.saved is not None
    stored = _json(run.saved.state)
    while not run.completed:
        _answer(run)
        ops = run.changes()
        assert ops is not None
        stored = state_diff.apply(stored, _json(ops))
        full = _json(run.dump())
        assert _without_unused_values(stored, full) == full
    assert run.variables()["approved"] == 12


def _patch_sizes(bundle: SpecBundle, engine: HuiqianScriptEngine, n: int) -> list[int]:
    """Bytes of each answer's patch, in order, over a whole review."""
    run = _start(bundle, engine, n)
    run.changes()
    sizes = []
    while not run.completed:
        _answer(run)
        sizes.append(len(json.dumps(run.changes())))
    return sizes


def test_a_patch_grows_neither_with_the_reviewers_nor_with_the_answers(
    bundle: SpecBundle, script_engine: HuiqianScriptEngine
) -> None:
    """The opinions collection grows by one answer a step; its patch must not."""
    small = _patch_sizes(bundle, script_engine, 20)
    large = _patch_sizes(bundle, script_engine, 150)
    first, last = sum(large[:10]) / 10, sum(large[-11:-1]) / 10  # the final step ends it all
    assert last <= 1.5 * first, (first, last)
    assert sum(large[:-1]) / 149 <= 1.5 * sum(small[:-1]) / 19, "the mean patch"


def test_the_roster_every_task_carries_is_saved_once(
    bundle: SpecBundle, script_engine: HuiqianScriptEngine
) -> None:
    run = _start(bundle, script_engine, 300)
    text = json.dumps(run.dump())
    # Once in the pooled roster and once in the pooled reviewers collection.
    assert text.count('"department-0299"') == 2
    restored = WorkflowRun.restore(bundle, _json(run.dump()), script_engine)
    tasks = list(restored.ready_human_tasks())
    assert len(tasks) == 300
    assert tasks[0].data["roster"] == tasks[1].data["roster"]
    assert tasks[0].data["roster"] is not tasks[1].data["roster"], "each task owns its data"


def test_a_change_that_escapes_the_fingerprints_fails_loudly(
    bundle: SpecBundle, script_engine: HuiqianScriptEngine
) -> None:
    """Verify mode (HUIQIAN_VERIFY_STATE=1, set for the suite) compares every save."""
    run = _start(bundle, script_engine, 5)
    run.changes()
    waiting = next(run.ready_human_tasks())
    waiting.data["roster"][0] = "renamed"  # in place: same list, same length, same state
    with pytest.raises(StateMismatch):
        run.changes()


def test_a_patch_log_replays_with_shared_copies_to_the_state_saved(
    bundle: SpecBundle, script_engine: HuiqianScriptEngine
) -> None:
    """``load_state`` replays with ``shared_copies``: the same state, and a workflow that
    restores from it and carries on as the original does."""
    run = _start(bundle, script_engine, 80)
    run.changes()
    assert run.saved is not None
    snapshot = _json(run.saved.state)
    log = []
    for _ in range(60):
        _answer(run)
        log.append(_json(run.changes()))
    assert any(op[0] == "c" for ops in log for op in ops), "grown collections were copied"

    whole, shared = _json(snapshot), _json(snapshot)
    for ops in log:
        state_diff.apply(whole, _json(ops))
        state_diff.apply(shared, _json(ops), shared_copies=True)
    assert shared == whole == run.saved.state

    restored = WorkflowRun.restore(bundle, shared, script_engine)
    restored.changes()
    while not run.completed:
        _answer(run)
        _answer(restored)
        assert restored.variables() == run.variables()
    assert restored.completed and restored.variables()["approved"] == 80


def _format_1(run: WorkflowRun) -> dict[str, Any]:
    """A state as the engine saved it before pooling: SpiffWorkflow's task deltas."""
    converter = BpmnWorkflowConverter(type(run.workflow), SERIALIZATION.registry)
    state = WorkflowConverter.to_dict(converter, run.workflow)
    state["subprocesses"] = converter.mapping_to_dict(run.workflow.subprocesses)
    state["bpmn_events"] = []
    return _json({"format": 1, **state})


def test_a_state_of_format_1_is_read_and_saved_whole_next(
    bundle: SpecBundle, script_engine: HuiqianScriptEngine
) -> None:
    original = _start(bundle, script_engine, 4)
    _answer(original)
    old = _format_1(original)
    assert "values" not in old and all("delta" in task for task in old["tasks"].values())

    run = WorkflowRun.restore(bundle, old, script_engine)
    assert run.saved is None
    assert [t.data for t in run.ready_human_tasks()] == [
        t.data for t in original.ready_human_tasks()
    ]
    assert run.changes() is None
    assert run.saved is not None and run.saved.state["format"] == 2
    while not run.completed:
        _answer(run)
    assert run.variables()["approved"] == 4


def test_live_workflows_hand_out_an_entry_with_the_version_it_was_put_at(
    bundle: SpecBundle, script_engine: HuiqianScriptEngine
) -> None:
    """The caller compares the version (``engine.steps``): equal, used; older, caught up."""
    live = LiveWorkflows()
    run = _start(bundle, script_engine, 3)
    live.put("i1", 5, run)
    assert live.take("i1") == (5, run)
    assert live.take("i1") is None, "taken out while a step uses it"
    live.put("i1", 6, run)
    assert live.take("i1") == (6, run), "put back at the step's new version"


def test_live_workflows_keep_within_their_memory_budget(
    bundle: SpecBundle, script_engine: HuiqianScriptEngine
) -> None:
    runs = [_start(bundle, script_engine, 3) for _ in range(3)]
    live = LiveWorkflows(budget_bytes=2 * footprint(runs[0]))
    for number, run in enumerate(runs):
        live.put(f"i{number}", 1, run)
    assert len(live) == 2
    assert live.take("i0") is None, "the least recently used went first"
    assert live.take("i2") == (1, runs[2])
    tight = LiveWorkflows(budget_bytes=footprint(runs[0]) // 2)
    tight.put("i0", 1, runs[0])
    tight.put("i1", 1, runs[1])
    assert len(tight) == 1, "the last one stays, alone: its step held it anyway"
    assert tight.take("i1") == (1, runs[1])
    off = LiveWorkflows(budget_bytes=0)
    off.put("i", 1, runs[0])
    assert len(off) == 0
    impatient = LiveWorkflows(idle_seconds=0)
    impatient.put("i0", 1, runs[0])
    impatient.put("i1", 1, runs[1])
    assert impatient.take("i0") is None, "idle entries go at the next put"
    assert impatient.take("i1") == (1, runs[1])


def test_a_footprint_follows_the_memory_a_workflow_holds(
    bundle: SpecBundle, script_engine: HuiqianScriptEngine
) -> None:
    """Within a factor of two of what tracemalloc sees, small reviews and large."""
    for reviewers in (3, 150):
        tracemalloc.start()
        run = _start(bundle, script_engine, reviewers)
        run.changes()
        held = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert held / 2 <= footprint(run) <= 2 * held, (reviewers, held, footprint(run))
