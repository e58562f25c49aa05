"""Every event committed gets exactly one ``event`` job naming it; rolled-back events get none."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import events
from engine.db import Database
from engine.models import Event, Job

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _record(session: Session, n: int, instance_id: str) -> list[Event]:
    return [
        events.record(session, "task.created", {"n": i}, at=NOW, instance_id=instance_id)
        for i in range(n)
    ]


def _jobs_by_event(db: Database) -> dict[str, int]:
    """Event id → number of event jobs naming it."""
    with db.write_session() as s:
        found: dict[str, int] = {}
        for job in s.scalars(select(Job).where(Job.kind == events.EVENT_JOB)):
            event_id = job.payload["event_id"]
            found[event_id] = found.get(event_id, 0) + 1
        return found


def _event_ids(db: Database) -> set[str]:
    with db.write_session() as s:
        return set(s.scalars(select(Event.id)))


def test_many_events_in_one_transaction_each_get_one_job(database: Database) -> None:
    with database.write_session() as s:
        recorded = _record(s, 50, "many")
        s.commit()
        ids = [event.id for event in recorded]
    assert len(set(ids)) == 50
    assert _jobs_by_event(database) == dict.fromkeys(ids, 1)


def test_events_of_a_rolled_back_savepoint_or_transaction_get_no_job(database: Database) -> None:
    with database.write_session() as s:
        kept = _record(s, 2, "kept")
        savepoint = s.begin_nested()
        _record(s, 3, "undone")
        savepoint.rollback()
        s.commit()
        kept_ids = [event.id for event in kept]
    with database.write_session() as s:
        _record(s, 4, "rolled back")
        s.rollback()
        s.commit()
    assert _event_ids(database) == set(kept_ids)
    assert _jobs_by_event(database) == dict.fromkeys(kept_ids, 1)
