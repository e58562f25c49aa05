"""Completing a task locks its instance's row, then the task's, in one query (PostgreSQL).

Every writer locks an instance before its tasks; a query that took the task first could
deadlock with a step that closes the tasks of an instance it holds.  The test holds the
task's row in one transaction and lets ``with_task`` wait on it in another: while it waits,
the instance's row must already be taken.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.db import Database
from engine.models import HumanTask, Instance
from engine.unit_of_work import SqlUnitOfWork
from services.demo import seed_demo_users
from tests.api_helpers import TWO_LANES, dispose, make_app, ok, start, the_open_task, token_headers
from tests.conftest import DEMO_PASSWORD

# Only a guard against a hung test run; nothing below waits on a clock to decide.
GUARD_SECONDS = 30


@pytest.fixture
def open_task(postgres_schema_url: str, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """(instance id, task id) of an open task in a fresh PostgreSQL schema."""
    app = make_app(postgres_schema_url, tmp_path)
    seed_demo_users(app.extensions["huiqian.engine"], DEMO_PASSWORD)
    client = app.test_client()
    designer = token_headers(client, "designer")
    upload = {"file": (BytesIO(TWO_LANES.read_bytes()), TWO_LANES.name)}
    ok(client.post("/api/v1/definitions", headers=designer, data=upload), 201)
    instance = start(client, designer, jurisdiction="baoji")
    task = the_open_task(client, token_headers(client, "baoji.hrss"), instance["id"], "hrss_review")
    dispose(app)
    yield instance["id"], task["id"]


def _waiting_on_a_lock(db: Database, application_name: str) -> bool:
    with db.engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT 1 FROM pg_stat_activity "
                "WHERE application_name = :name AND wait_event_type = 'Lock'"
            ),
            {"name": application_name},
        )
        return found.first() is not None


def test_with_task_locks_the_instance_before_it_waits_for_the_task(
    postgres_schema_url: str, open_task: tuple[str, str]
) -> None:
    instance_id, task_id = open_task
    db = Database(postgres_schema_url)
    found: list[tuple[Instance, HumanTask] | None] = []
    try:
        with db.engine.connect() as holder:
            holder.execute(
                text("SELECT id FROM human_tasks WHERE id = :id FOR UPDATE"), {"id": task_id}
            )

            def complete_side() -> None:
                with SqlUnitOfWork(db) as uow:
                    uow.session.execute(text("SET application_name = 'with_task_waiter'"))
                    found.append(uow.instances.with_task(task_id, for_update=True))

            waiter = threading.Thread(target=complete_side)
            waiter.start()
            deadline = time.monotonic() + GUARD_SECONDS
            while not _waiting_on_a_lock(db, "with_task_waiter"):
                assert time.monotonic() < deadline, "with_task never waited for the task's row"
                time.sleep(0.01)

            with db.engine.connect() as third:
                with pytest.raises(OperationalError, match="could not obtain lock"):
                    third.execute(
                        text("SELECT id FROM instances WHERE id = :id FOR UPDATE NOWAIT"),
                        {"id": instance_id},
                    )
            holder.rollback()
            waiter.join(GUARD_SECONDS)
            assert not waiter.is_alive()
    finally:
        db.dispose()

    assert len(found) == 1 and found[0] is not None
    instance, task = found[0]
    assert (instance.id, task.id, task.instance_id) == (instance_id, task_id, instance_id)


def test_with_task_answers_none_for_an_unknown_task(postgres_schema_url: str) -> None:
    db = Database(postgres_schema_url)
    try:
        with SqlUnitOfWork(db) as uow:
            assert uow.instances.with_task("no-such-task", for_update=True) is None
    finally:
        db.dispose()
