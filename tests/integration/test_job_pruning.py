"""Done jobs are pruned after the retention; pending and failed jobs never are."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine import jobs
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.db import Database
from engine.events import EVENT_JOB
from engine.models import Incident, Job

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def _job(state: str, age: timedelta, kind: str = EVENT_JOB) -> Job:
    """A job that became due, and (unless pending) finished, ``age`` before NOW."""
    at = NOW - age
    return Job(
        kind=kind,
        due_at=at - timedelta(seconds=1),
        state=state,
        payload={},
        finished_at=None if state == "pending" else at,
    )


def _add(db: Database, *rows: Job) -> list[int]:
    with db.write_session() as s:
        s.add_all(rows)
        s.commit()
        return [row.id for row in rows]


def _states(db: Database) -> dict[int, str]:
    with db.read_session() as s:
        return {job.id: job.state for job in s.scalars(select(Job))}


def test_only_done_jobs_older_than_the_retention_are_deleted(database: Database) -> None:
    ctx = EngineContext(db=database, clock=FakeClock(NOW))
    old_done = _add(database, _job("done", WEEK + timedelta(hours=1)), _job("done", 30 * WEEK))
    kept = _add(
        database,
        _job("done", WEEK - timedelta(hours=1)),  # within the retention
        _job("pending", 30 * WEEK),  # never ran: an event nobody consumed yet
        _job("failed", 30 * WEEK),  # its incident may still be retried
        _job("pending", -timedelta(days=1), kind="timer"),  # due tomorrow
    )
    assert jobs.prune_done_jobs(ctx, WEEK) == 2
    assert set(_states(database)) == set(kept)
    assert not set(_states(database)) & set(old_done)
    assert jobs.prune_done_jobs(ctx, WEEK) == 0


def test_pruning_goes_in_batches(database: Database) -> None:
    ctx = EngineContext(db=database, clock=FakeClock(NOW))
    _add(database, *[_job("done", 2 * WEEK) for _ in range(5)])
    assert [jobs.prune_done_jobs(ctx, WEEK, limit=2) for _ in range(4)] == [2, 2, 1, 0]


def test_a_resolved_incident_outlives_its_pruned_job(database: Database) -> None:
    ctx = EngineContext(db=database, clock=FakeClock(NOW))
    (job_id,) = _add(database, _job("done", 2 * WEEK, kind="timer"))
    with database.write_session() as s:
        s.add(
            Incident(
                job_id=job_id,
                kind="timer",
                error="boom",
                attempts=5,
                created_at=NOW - 3 * WEEK,
                resolved_at=NOW - 2 * WEEK,
            )
        )
        s.commit()
    assert jobs.prune_done_jobs(ctx, WEEK) == 1
    with database.read_session() as s:
        incident = s.scalars(select(Incident)).one()
    assert incident.job_id is None and incident.error == "boom"


def test_workers_prune_once_per_interval_unless_a_backlog_remains(database: Database) -> None:
    ctx = EngineContext(db=database, clock=FakeClock(NOW))
    _add(database, *[_job("done", 2 * WEEK) for _ in range(3)])
    pruning = jobs.Pruning(WEEK, batch=2, interval_seconds=3600)
    assert pruning.run_if_due(ctx) == 2  # a full batch: more may wait, so again at once
    assert pruning.run_if_due(ctx) == 1
    _add(database, _job("done", 2 * WEEK))
    assert pruning.run_if_due(ctx) == 0  # within the interval
    assert jobs.Pruning(None).run_if_due(ctx) == 0  # retention 0: kept for good
    assert len(_states(database)) == 1


def test_the_worker_loop_prunes(database: Database) -> None:
    ctx = EngineContext(db=database, clock=FakeClock(NOW))
    _add(database, _job("done", 2 * WEEK), _job("done", timedelta(days=1)))
    stop = threading.Event()
    worker = threading.Thread(target=jobs.work_forever, args=(ctx, stop, 0.01, WEEK))
    worker.start()
    try:
        for _ in range(500):
            if len(_states(database)) == 1:
                break
            stop.wait(0.01)
    finally:
        stop.set()
        worker.join(10)
    assert len(_states(database)) == 1


def test_retention_days() -> None:
    assert jobs.retention_days(7) == WEEK
    assert jobs.retention_days(0.5) == timedelta(hours=12)
    assert jobs.retention_days(0) is None
