"""An instance's saved state holds its tasks and data only; the spec lives once per version."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.process_parser import parse_bpmn
from engine.runtime import SERIALIZATION, SpecBundle, SpecCache, WorkflowRun
from engine.sandbox import HuiqianScriptEngine, create_script_engine
from tests.bpmn_documents import NO_DEPENDENCIES
from tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def script_engine() -> HuiqianScriptEngine:
    return create_script_engine()


def _bundle(xml: bytes, filename: str = "test.bpmn") -> SpecBundle:
    (process,) = parse_bpmn(xml, filename, NO_DEPENDENCIES)
    return SpecBundle(process.spec, process.subprocess_specs)


def _sequence(tasks: int, documentation: str = "") -> bytes:
    """start → t0 → … → t{tasks-1} → end, every user task of hrss, optionally documented."""
    doc = f"<bpmn:documentation>{documentation}</bpmn:documentation>" if documentation else ""
    targets = [f"t{i}" for i in range(tasks)] + ["end"]
    body = "".join(
        f'<bpmn:userTask id="t{i}" name="step {i}" huiqian:candidateDepartments="hrss">{doc}'
        f"</bpmn:userTask>"
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="t{i}" targetRef="{targets[i + 1]}"/>'
        for i in range(tasks)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:huiqian="http://huiqian.dev/schema/bpmn/1.0" id="d" targetNamespace="http://x">'
        '<bpmn:process id="sequence" isExecutable="true"><bpmn:startEvent id="start"/>'
        '<bpmn:sequenceFlow id="fs" sourceRef="start" targetRef="t0"/>'
        f'{body}<bpmn:endEvent id="end"/></bpmn:process></bpmn:definitions>'
    ).encode()


def _size(value: Any) -> int:
    return len(json.dumps(value, sort_keys=True))


def _stored(run: WorkflowRun) -> dict[str, Any]:
    """The dump as the database gives it back: plain JSON."""
    return json.loads(json.dumps(run.dump()))


def _complete_all(run: WorkflowRun) -> list[str]:
    done = []
    while ready := list(run.ready_human_tasks()):
        (task,) = ready
        run.complete(str(task.id), {"by": task.task_spec.bpmn_id})
        done.append(task.task_spec.bpmn_id)
    return done


def test_dump_contains_no_spec(script_engine: HuiqianScriptEngine) -> None:
    run = WorkflowRun.start(_bundle((FIXTURES / "two_lanes.bpmn").read_bytes()), {}, script_engine)
    dump = run.dump()
    assert "spec" not in dump and "subprocess_specs" not in dump
    assert all("spec" not in state for state in dump["subprocesses"].values())
    assert {task["task_spec"] for task in dump["tasks"].values()} >= {"hrss_review", "fin_review"}


def test_dump_size_does_not_grow_with_the_spec(script_engine: HuiqianScriptEngine) -> None:
    small, large = _bundle(_sequence(2)), _bundle(_sequence(2, documentation="说明" * 20_000))
    spec_growth = _size(SERIALIZATION.spec_to_dict(large)) - _size(
        SERIALIZATION.spec_to_dict(small)
    )
    assert spec_growth > 100_000

    small_dump = WorkflowRun.start(small, {}, script_engine).dump()
    large_dump = WorkflowRun.start(large, {}, script_engine).dump()
    # Only the timestamps of the task entries may differ by a digit or two.
    assert abs(_size(large_dump) - _size(small_dump)) <= 4 * len(small_dump["tasks"])


def test_dump_of_a_longer_process_grows_only_by_its_task_entries(
    script_engine: HuiqianScriptEngine,
) -> None:
    # SpiffWorkflow predicts the whole straight path as FUTURE tasks, so a 40-step sequence
    # has more task entries at its first step; each entry, and everything else, stays as small.
    short = WorkflowRun.start(_bundle(_sequence(2)), {}, script_engine).dump()
    long = WorkflowRun.start(_bundle(_sequence(40)), {}, script_engine).dump()
    assert len(long["tasks"]) - len(short["tasks"]) == 38

    def without_tasks(dump: dict[str, Any]) -> int:
        return _size({key: value for key, value in dump.items() if key != "tasks"})

    def largest_entry(dump: dict[str, Any]) -> int:
        return max(_size(task) for task in dump["tasks"].values())

    assert abs(without_tasks(long) - without_tasks(short)) <= 4
    assert largest_entry(long) <= largest_entry(short) + 4


def test_restored_dump_continues_to_completion_with_specs_from_the_cache(
    script_engine: HuiqianScriptEngine,
) -> None:
    original = _bundle((FIXTURES / "two_lanes.bpmn").read_bytes(), "two_lanes.bpmn")
    stored_spec = json.loads(json.dumps(SERIALIZATION.spec_to_dict(original)))
    run = WorkflowRun.start(original, {"applicant": "张三"}, script_engine)
    saved = _stored(run)

    loads = []
    cache = SpecCache()

    def load() -> dict[str, Any]:
        loads.append(1)
        return stored_spec

    first = WorkflowRun.restore(cache.get("v1", load), saved, script_engine)
    assert [t.task_spec.bpmn_id for t in first.ready_human_tasks()] == ["hrss_review"]
    (task,) = first.ready_human_tasks()
    first.complete(str(task.id), {"opinion": "同意"})
    assert not first.completed

    second = WorkflowRun.restore(cache.get("v1", load), _stored(first), script_engine)
    assert _complete_all(second) == ["fin_review"]
    assert second.completed
    variables = second.variables()
    assert (variables["applicant"], variables["opinion"], variables["by"]) == (
        "张三",
        "同意",
        "fin_review",
    )
    assert len(loads) == 1
