"""engine.state_catch_up without a database: which patch logs it applies, and when it gives up."""

from __future__ import annotations

import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from engine import state_catch_up
from engine.process_parser import parse_bpmn
from engine.runtime import SpecBundle, WorkflowRun
from engine.sandbox import create_script_engine
from engine.state_tracking import VERIFY_ENV
from tests.bpmn_documents import NO_DEPENDENCIES, process_document

TWO_STEPS = process_document(
    "two_steps",
    """\
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="first"/>
    <bpmn:userTask id="first" huiqian:candidateDepartments="hrss"/>
    <bpmn:sequenceFlow id="f2" sourceRef="first" targetRef="second"/>
    <bpmn:userTask id="second" huiqian:candidateDepartments="fin"/>
    <bpmn:sequenceFlow id="f3" sourceRef="second" targetRef="end"/>
    <bpmn:endEvent id="end"/>
""",
)


NO_SUCH_TASK = "00000000-0000-0000-0000-000000000000"


class Rows:
    """Stands in for the session: answers the patch query with the given rows."""

    def __init__(self, rows: list[tuple[int, list[Any], list[Any]]]) -> None:
        self.rows = [SimpleNamespace(seq=s, ops=o, variable_ops=v) for s, o, v in rows]

    def execute(self, _query: Any) -> Any:
        return SimpleNamespace(all=lambda: self.rows)


def _runs() -> tuple[WorkflowRun, WorkflowRun, list[Any]]:
    """Two copies of one workflow at seq 1; the first then answers a task (its patch)."""
    (process,) = parse_bpmn(TWO_STEPS, "two_steps.bpmn", NO_DEPENDENCIES)
    bundle = SpecBundle(process.spec, process.subprocess_specs)
    engine = create_script_engine()
    ahead = WorkflowRun.start(bundle, {"subject": "x"}, engine)
    ahead.changes()
    assert ahead.saved is not None
    stale = WorkflowRun.restore(bundle, json.loads(json.dumps(ahead.saved.state)), engine)
    for run in (ahead, stale):
        run.state_seq, run.definition_id, run.saved_variables = 1, "d1", {"subject": "x"}
    (task,) = ahead.ready_human_tasks()
    ahead.complete(str(task.id), {"note": "done"})
    return ahead, stale, json.loads(json.dumps(ahead.changes()))


def _instance(seq: int = 2, definition_id: str = "d1") -> Any:
    return SimpleNamespace(
        id="i1", state_seq=seq, definition_id=definition_id, variables={"subject": "x"}
    )


def test_a_stale_copy_catches_up_to_the_copy_that_moved_on() -> None:
    ahead, stale, ops = _runs()
    assert state_catch_up.catch_up(Rows([(2, ops, [])]), _instance(), stale)  # type: ignore[arg-type]
    assert stale.dump() == ahead.dump()
    assert [t.task_spec.name for t in stale.ready_human_tasks()] == ["second"]
    assert stale.state_seq == 2 and stale.saved_open is None


@pytest.mark.parametrize(
    ("rows", "instance"),
    [
        ([], _instance()),  # the patch was folded into a snapshot
        ([(3, [], [])], _instance(seq=3)),  # seq 2 is missing
        ([(2, [], [])], _instance(definition_id="d2")),  # migrated meanwhile
        ([(2, [["s", ["root"], "x"]], [])], _instance()),  # a key the shortcut leaves alone
    ],
    ids=["snapshot", "gap", "migrated", "root"],
)
def test_it_gives_up_where_the_shortcut_is_not_plainly_safe(rows: list[Any], instance: Any) -> None:
    _ahead, stale, _ops = _runs()
    assert not state_catch_up.catch_up(Rows(rows), instance, stale)  # type: ignore[arg-type]


def test_a_patch_that_does_not_fit_is_logged_and_restored_not_raised(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(VERIFY_ENV, raising=False)
    _ahead, stale, _ops = _runs()
    misfit = [["s", ["tasks", NO_SUCH_TASK, "state"], 64]]
    with caplog.at_level(logging.WARNING, logger="engine.state_catch_up"):
        caught_up = state_catch_up.catch_up(Rows([(2, misfit, [])]), _instance(), stale)  # type: ignore[arg-type]
    assert not caught_up
    assert "catching up instance i1 failed" in caplog.text


def test_in_verify_mode_a_patch_that_does_not_fit_fails_loudly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(VERIFY_ENV, "1")
    _ahead, stale, _ops = _runs()
    misfit = [["s", ["tasks", NO_SUCH_TASK, "state"], 64]]
    with pytest.raises(KeyError):
        state_catch_up.catch_up(Rows([(2, misfit, [])]), _instance(), stale)  # type: ignore[arg-type]
