"""``huiqian check`` finds states no committed command can leave behind."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import text

from engine import consistency
from engine.db import Database
from engine.models import Job, utcnow
from services.cli import main as huiqian
from tests.api_helpers import TWO_LANES, start, the_open_task


def _check(db: Database):
    return CliRunner().invoke(huiqian, ["check"], env={"HUIQIAN_DATABASE_URL": db.url})


def _running(client: FlaskClient, login: Callable[[str], dict[str, str]], deploy) -> dict[str, Any]:
    deploy(TWO_LANES)
    hrss = login("baoji.hrss")
    instance = start(client, hrss)
    return {
        "instance": instance,
        "task": the_open_task(client, hrss, instance["id"], "hrss_review"),
    }


def test_a_database_the_commands_wrote_passes(database: Database, client, login, deploy) -> None:
    _running(client, login, deploy)
    assert consistency.problems(database) == []
    outcome = _check(database)
    assert outcome.exit_code == 0, outcome.output


def test_completed_instance_with_an_open_task_is_reported(
    database: Database, client, login, deploy
) -> None:
    found = _running(client, login, deploy)
    with database.write_session() as s:
        s.execute(
            text("UPDATE instances SET status = 'completed' WHERE id = :id"),
            {"id": found["instance"]["id"]},
        )
        s.commit()
    assert consistency.problems(database) == [
        f"open task {found['task']['id']} belongs to completed instance {found['instance']['id']}"
    ]
    outcome = _check(database)
    assert outcome.exit_code == 1
    assert found["task"]["id"] in outcome.output


def test_running_instance_without_state_and_orphan_timer_are_reported(
    database: Database, client, login, deploy
) -> None:
    found = _running(client, login, deploy)
    instance_id = found["instance"]["id"]
    hrss = login("baoji.hrss")
    client.post(f"/api/v1/instances/{instance_id}/terminate", headers=hrss, json={"reason": "x"})
    second = start(client, hrss)["id"]
    with database.write_session() as s:
        s.add(Job(kind="timer", instance_id=instance_id, due_at=utcnow()))
        s.execute(text("UPDATE instances SET state = '{}' WHERE id = :id"), {"id": second})
        s.commit()
    problems = consistency.problems(database)
    assert f"active instance {second} has no saved state" in problems
    assert any(p.startswith("pending timer job") and instance_id in p for p in problems)
    assert len(problems) == 2
