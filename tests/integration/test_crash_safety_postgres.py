"""SIGKILL the whole service in the middle of 200 concurrent completions: nothing half-done.

gunicorn (2 workers) serves a PostgreSQL database with 200 running two-lane instances.
A thread pool completes their 200 open ``hrss_review`` tasks at once; after 60 answers
the master and its workers are killed with SIGKILL.  Afterwards every task was done at
most once and exactly when the database says so (task rows, audit entries and workflow
state agree), every instance restores with open-task rows equal to its READY user
tasks, and ``huiqian check`` passes.  A restarted service then finishes the rest.
"""

from __future__ import annotations

import http.client
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine import commands, steps
from engine.identity import SYSTEM
from engine.models import AuditEntry, HumanTask
from engine.repository import Page
from engine.unit_of_work import SqlUnitOfWork
from services.cli import main as huiqian
from services.demo import seed_demo_users
from tests.api_helpers import TWO_LANE_KEY, TWO_LANES, dispose, make_app
from tests.conftest import DEMO_PASSWORD
from tests.processes import Service

INSTANCES = 200
KILL_AFTER = 60
THREADS = 16


@pytest.fixture
def app_on_postgres(postgres_schema_url: str, tmp_path: Path) -> Iterator[Any]:
    app = make_app(postgres_schema_url, tmp_path / "data")
    ctx = app.extensions["huiqian.engine"]
    seed_demo_users(ctx, DEMO_PASSWORD)
    commands.deploy(ctx, SYSTEM, TWO_LANES.read_bytes(), TWO_LANES.name)
    for number in range(INSTANCES):
        commands.start_instance(
            ctx,
            SYSTEM,
            process_key=TWO_LANE_KEY,
            variables={},
            jurisdiction="baoji",
            business_key=f"CRASH-{number}",
        )
    yield app
    dispose(app)


def _open_hrss_tasks(ctx: Any) -> list[str]:
    with ctx.db.read_session() as s:
        query = select(HumanTask.id).where(
            HumanTask.bpmn_id == "hrss_review", HumanTask.state == "open"
        )
        return sorted(s.scalars(query))


def _complete_all(service: Service, token: str, task_ids: list[str], kill_after: int | None):
    """Complete concurrently; kill the service after ``kill_after`` answers. Status per task."""
    answers: dict[str, int | None] = {}
    with ThreadPoolExecutor(THREADS) as pool:
        futures = {
            pool.submit(
                service.request, "POST", f"/api/v1/tasks/{task}/complete", {"data": {}}, token
            ): task
            for task in task_ids
        }
        for future in as_completed(futures):
            try:
                answers[futures[future]] = future.result()[0]
            except (OSError, http.client.HTTPException):
                answers[futures[future]] = None  # the service died under this request
            if kill_after is not None and len(answers) == kill_after:
                service.kill()
    return answers


def _assert_consistent(ctx: Any) -> None:
    """Task rows, audit entries and workflow state tell the same story for every instance."""
    with SqlUnitOfWork(ctx.db) as uow:
        completions = Counter(
            uow.session.scalars(select(AuditEntry.task_id).where(AuditEntry.action == "complete"))
        )
        assert max(completions.values(), default=0) <= 1, "a task was completed twice"
        for instance in uow.instances.list(Page(1, INSTANCES * 2))[0]:
            run = steps.restore(ctx, uow, instance)
            ready = {str(task.id) for task in run.ready_human_tasks()}
            rows = uow.tasks.for_instance(instance.id)
            assert {r.id for r in rows if r.state == "open"} == ready, instance.id
            for row in rows:
                if row.id not in ready:
                    # The completion payload puts ``completed_by`` into the task's own data.
                    done_in_workflow = "completed_by" in run.task(row.id).data
                    assert (row.state == "completed") == done_in_workflow, row.id
                assert completions[row.id] == (1 if row.state == "completed" else 0), row.id
    outcome = CliRunner().invoke(huiqian, ["check"], env={"HUIQIAN_DATABASE_URL": ctx.db.url})
    assert outcome.exit_code == 0, outcome.output


def test_killed_mid_burst_leaves_no_half_written_instance(
    app_on_postgres: Any, postgres_schema_url: str, tmp_path: Path
) -> None:
    ctx = app_on_postgres.extensions["huiqian.engine"]
    tasks = _open_hrss_tasks(ctx)
    assert len(tasks) == INSTANCES

    service = Service(postgres_schema_url, tmp_path / "data")
    try:
        answers = _complete_all(service, service.token("baoji.hrss"), tasks, KILL_AFTER)
    finally:
        service.stop()
    acknowledged = {task for task, status in answers.items() if status == 200}
    assert len(acknowledged) >= KILL_AFTER - THREADS
    assert acknowledged <= set(tasks) - set(_open_hrss_tasks(ctx)), "an answered 200 was lost"
    assert _open_hrss_tasks(ctx), "the kill came after every completion"
    _assert_consistent(ctx)

    restarted = Service(postgres_schema_url, tmp_path / "data")
    try:
        remaining = _open_hrss_tasks(ctx)
        answers = _complete_all(restarted, restarted.token("baoji.hrss"), remaining, None)
    finally:
        restarted.stop()
    assert set(answers.values()) == {200}
    assert _open_hrss_tasks(ctx) == []
    _assert_consistent(ctx)
