"""Live workflows and incremental state (engine.state_store) across steps and processes.

* A step that fails after SpiffWorkflow changed the workflow leaves nothing of it
  in the process's live workflows: the next try starts from the committed state.
* Two service processes taking turns on one co-review each find their live copy
  stale (the instance's version moved), catch it up from the other's patch (or,
  after a snapshot, restore from the database), and agree on every answer; a
  finished instance keeps its final state as a snapshot with no patches left.
  The suite runs in verify mode, so every caught-up workflow is also compared
  with a full dump.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine import state_catch_up, state_store
from engine.consistency import problems
from engine.db import Database
from engine.models import Instance, StatePatch
from tests.api_helpers import (
    TWO_LANES,
    app_with_synthetic_pack,
    complete,
    dispose,
    get_instance,
    make_app,
    ok,
    open_tasks,
    problem,
    start,
    token_headers,
)
from tests.bpmn_documents import CALLER_AND_CALLEE, process_document

N = 12
CO_REVIEW = Path(__file__).resolve().parents[2] / "bpmn" / "co_review.bpmn"
DIVIDE = process_document(
    "divide",
    """\
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
    <bpmn:userTask id="ask" name="divisor" huiqian:candidateDepartments="hrss"/>
    <bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="compute"/>
    <bpmn:scriptTask id="compute"><bpmn:script>share = 10 / divisor</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="compute" targetRef="check"/>
    <bpmn:userTask id="check" name="check" huiqian:candidateDepartments="fin"/>
    <bpmn:sequenceFlow id="f4" sourceRef="check" targetRef="end"/>
    <bpmn:endEvent id="end"/>
""",
)


def _upload(client: FlaskClient, content: bytes, filename: str) -> None:
    response = client.post(
        "/api/v1/definitions",
        headers=token_headers(client, "designer"),
        data={"file": (BytesIO(content), filename)},
        content_type="multipart/form-data",
    )
    assert response.status_code in (200, 201), response.get_json()


def test_a_failed_step_leaves_no_half_run_workflow_behind(
    client: FlaskClient, login: Callable[[str], dict[str, str]]
) -> None:
    _upload(client, DIVIDE, "divide.bpmn")
    instance = start(client, login("baoji.hrss"), key="divide", jurisdiction="baoji")
    (ask,) = open_tasks(client, login("baoji.hrss"), instance_id=instance["id"])

    # SpiffWorkflow completes "ask" and fails in "compute": nothing of it may stay.
    problem(complete(client, login("baoji.hrss"), ask["id"], {"divisor": 0}), 422, "script-error")
    after_failure = get_instance(client, login("admin"), instance["id"])
    assert after_failure["version"] == instance["version"]

    ok(complete(client, login("baoji.hrss"), ask["id"], {"divisor": 4}))
    (check,) = open_tasks(client, login("baoji.fin"), instance_id=instance["id"])
    assert check["bpmn_id"] == "check"
    assert get_instance(client, login("admin"), instance["id"])["variables"]["share"] == 2.5


@pytest.fixture
def two_services(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    """Two applications (own engine context, own live workflows) on one database."""
    apps = [
        app_with_synthetic_pack(database.url, tmp_path, monkeypatch, N),
        make_app(database.url, tmp_path / "second"),
    ]
    yield apps[0].test_client(), apps[1].test_client()
    for app in apps:
        dispose(app)


def _catch_ups(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Record whether each stale live workflow was caught up (True) or restored (False)."""
    outcomes: list[bool] = []
    real_catch_up = state_catch_up.catch_up

    def counted(*args: Any) -> bool:
        outcomes.append(real_catch_up(*args))
        return outcomes[-1]

    monkeypatch.setattr(state_catch_up, "catch_up", counted)
    return outcomes


def _patches(database: Database, instance_id: str) -> tuple[int, int, int]:
    """(state_bytes, patch_bytes, patch rows) of the instance."""
    with database.read_session() as session:
        instance = session.get(Instance, instance_id)
        assert instance is not None
        rows = session.scalar(select(func.count()).where(StatePatch.instance_id == instance_id))
        return instance.state_bytes, instance.patch_bytes, rows or 0


@pytest.mark.parametrize("floor", [state_store.COMPACT_FLOOR, 0], ids=["default", "eager"])
def test_two_processes_take_turns_on_one_co_review(
    two_services: tuple[FlaskClient, FlaskClient],
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
    floor: int,
) -> None:
    monkeypatch.setattr(state_store, "COMPACT_FLOOR", floor)
    outcomes = _catch_ups(monkeypatch)
    first, second = two_services
    _upload(first, CO_REVIEW.read_bytes(), "co_review.bpmn")
    integrator = token_headers(first, "integrator")
    variables: dict[str, Any] = {"jurisdiction": "synthetic", "measure": "(一)"}
    instance = start(first, integrator, key="co_review", variables=variables)
    admin = token_headers(first, "admin")
    review = {
        t["department"]: t
        for t in open_tasks(first, admin, instance_id=instance["id"], page_size=100)
    }
    assert len(review) == N

    patched_steps = 0
    snapshot_at: list[bool] = []  # whether each step wrote a snapshot (its patches folded)
    for turn, department in enumerate(sorted(review)):
        client = (first, second)[turn % 2]
        officer = token_headers(client, f"synthetic.{department}")
        answer = {"decision": "approve", "opinion": f"{department} 同意"}
        ok(complete(client, officer, review[department]["id"], answer))
        seen = [get_instance(c, admin, instance["id"])["variables"] for c in (first, second)]
        assert seen[0] == seen[1]
        if turn < N - 1:
            # The variables are the data of the task finished last: this answer.
            assert seen[0]["answer"]["opinion"] == answer["opinion"]
            state_bytes, patch_bytes, rows = _patches(database, instance["id"])
            assert patch_bytes <= max(floor, state_bytes // 2)
            patched_steps += rows > 0
            snapshot_at.append(rows == 0)

    final = get_instance(second, admin, instance["id"])
    assert final["status"] == "completed"
    assert final["variables"]["result"] == "approved"
    assert len(final["variables"]["opinions"]) == N
    assert _patches(database, instance["id"])[1:] == (0, 0), "a finished instance is a snapshot"
    assert patched_steps > 0, "steps wrote patches, not whole states"
    assert problems(database) == []
    # From the third answer on, each process finds its copy one step behind: it catches up
    # from the other's patch, unless the other's step wrote a snapshot instead.
    assert outcomes == [not snapshot for snapshot in snapshot_at[1:]]
    # Both happen: catching up by default, restoring after the eager floor's snapshots.
    assert any(outcomes) if floor else not all(outcomes)


def test_a_workflow_with_a_subprocess_is_restored_not_caught_up(
    two_services: tuple[FlaskClient, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call activity's subprocess holds references a partial rebuild would leave stale."""
    outcomes = _catch_ups(monkeypatch)
    first, second = two_services
    _upload(first, CALLER_AND_CALLEE.encode(), "caller.bpmn")
    instance = start(first, token_headers(first, "baoji.hrss"), key="caller", jurisdiction="baoji")
    steps = [("apply", "baoji.hrss"), ("check", "baoji.fin"), ("decide", "baoji.hrss")]
    for turn, (bpmn_id, officer) in enumerate(steps):
        client = (first, second)[turn % 2]
        headers = token_headers(client, officer)
        (task,) = open_tasks(client, headers, instance_id=instance["id"])
        assert task["bpmn_id"] == bpmn_id
        ok(complete(client, headers, task["id"], {"note": bpmn_id}))
    final = get_instance(first, token_headers(first, "admin"), instance["id"])
    assert final["status"] == "completed"
    # The second process had no copy before its first step; the first process's copy was
    # stale at "decide", after the called process ran: restored from the database.
    assert outcomes == [False]


def test_a_workflow_migrated_by_another_process_is_restored_not_caught_up(
    two_services: tuple[FlaskClient, FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a migration the live copy has the old version's specs: only a restore will do."""
    outcomes = _catch_ups(monkeypatch)
    first, second = two_services
    two_lanes = TWO_LANES.read_bytes()
    _upload(first, two_lanes, "two_lanes.bpmn")
    admin = token_headers(first, "admin")
    instance = start(first, admin, jurisdiction="baoji")
    hrss = token_headers(second, "baoji.hrss")
    (review,) = open_tasks(second, hrss, instance_id=instance["id"])
    ok(complete(second, hrss, review["id"], {}))  # the second process now has a live copy
    renamed = two_lanes.replace("财政复审".encode(), "财政复审（二）".encode())
    assert renamed != two_lanes
    _upload(first, renamed, "two_lanes.bpmn")
    body = {"to_version": 2, "mapping": {}}
    ok(first.post(f"/api/v1/instances/{instance['id']}/migrate", headers=admin, json=body))

    fin = token_headers(second, "baoji.fin")
    (check,) = open_tasks(second, fin, instance_id=instance["id"])
    ok(complete(second, fin, check["id"], {}))
    assert get_instance(second, admin, instance["id"])["status"] == "completed"
    assert outcomes[-1] is False
