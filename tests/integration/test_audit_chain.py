"""The audit log is a hash chain: appended safely, never rewritten, and any change is found."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from engine import audit, jobs, schema
from engine.context import EngineContext
from engine.db import Database
from engine.models import AuditEntry, AuditRewriteRefused, Job, utcnow
from engine.repository import AuditRepository
from engine.unit_of_work import SqlUnitOfWork
from services.cli import main as huiqian
from tests.conftest import _migrated, _private_schema

WRITERS = 8
ENTRIES_PER_WRITER = 15


def _record(db: Database, count: int, actor: str = "officer") -> None:
    for number in range(count):
        with db.write_session() as s:
            AuditRepository(s).record(actor, "complete", details={"n": number, "数据": [1, 2.5]})
            s.commit()


def _cli(db: Database, *args: str):
    return CliRunner().invoke(huiqian, list(args), env={"HUIQIAN_DATABASE_URL": db.url})


def test_entries_link_each_to_the_one_before_from_genesis(database: Database) -> None:
    _record(database, 3)
    with database.read_session() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        result = audit.verify(s)
    assert [e.prev_hash for e in entries] == [audit.GENESIS] + [e.hash for e in entries[:-1]]
    assert result.ok and result.checked == 3 and result.last_hash == entries[-1].hash
    outcome = _cli(database, "audit", "verify")
    assert outcome.exit_code == 0, outcome.output
    assert "3 entries" in outcome.output


def test_changed_row_is_named_and_verify_exits_1(database: Database) -> None:
    _record(database, 4)
    with database.write_session() as s:
        second = s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()[1]
        # A hand edit of the database, past the ORM's refusal.
        s.execute(
            text("UPDATE audit_log SET actor = 'someone else' WHERE id = :id"), {"id": second}
        )
        s.commit()
    with database.read_session() as s:
        result = audit.verify(s)
    assert (result.broken_id, result.checked) == (second, 1)
    outcome = _cli(database, "audit", "verify")
    assert outcome.exit_code == 1
    assert f"entry {second}" in outcome.output
    assert _cli(database, "check").exit_code == 1


def test_removed_row_breaks_the_chain_at_the_next_entry(database: Database) -> None:
    _record(database, 3)
    with database.write_session() as s:
        ids = s.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()
        s.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
        s.commit()
    with database.read_session() as s:
        assert audit.verify(s).broken_id == ids[2]


def test_orm_refuses_to_update_or_delete_an_entry(database: Database) -> None:
    _record(database, 1)
    with database.write_session() as s:
        entry = s.scalars(select(AuditEntry)).one()
        entry.actor = "someone else"
        with pytest.raises(AuditRewriteRefused):
            s.flush()
        s.rollback()
        s.delete(s.scalars(select(AuditEntry)).one())
        with pytest.raises(AuditRewriteRefused):
            s.flush()


def test_migration_chains_the_rows_written_before_it(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    schema.upgrade(db, "0005")
    with db.engine.begin() as connection:
        for number in range(3):
            connection.execute(
                text(
                    "INSERT INTO audit_log (at, actor, action, details) "
                    "VALUES (:at, 'cli', 'deploy', :details)"
                ),
                {"at": f"2025-01-0{number + 1} 08:00:00.000000", "details": f'{{"v": {number}}}'},
            )
    schema.upgrade(db)
    _record(db, 1)
    with db.read_session() as s:
        result = audit.verify(s)
    db.dispose()
    assert result.ok and result.checked == 4


def test_concurrent_writers_do_not_fork_the_chain(postgres_schema_url: str) -> None:
    db = Database(postgres_schema_url)
    with ThreadPoolExecutor(WRITERS) as pool:
        for future in [
            pool.submit(_record, db, ENTRIES_PER_WRITER, f"writer{n}") for n in range(WRITERS)
        ]:
            future.result()
    with db.read_session() as s:
        result = audit.verify(s)
    db.dispose()
    assert result.ok and result.checked == WRITERS * ENTRIES_PER_WRITER


# --- the chain's lock: per schema, and taken only at commit ------------------------------


def _advisory_locks_held(session) -> int:  # noqa: ANN001 - a Session
    query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    return session.scalar(text(query))


def test_lock_key_differs_between_schemas(postgres_schema_url: str) -> None:
    with _private_schema() as other_url:
        first, second = Database(postgres_schema_url), Database(other_url)
        try:
            with first.read_session() as a, first.write_session() as b:
                assert audit.lock_key(a) == audit.lock_key(b)
                key = audit.lock_key(a)
            with second.read_session() as s:
                other = audit.lock_key(s)
        finally:
            first.dispose()
            second.dispose()
    assert isinstance(key, int) and isinstance(other, int) and key != other


def test_writers_of_another_schema_do_not_wait_for_the_chain_lock(
    postgres_schema_url: str,
) -> None:
    with _private_schema() as other_url:
        first, second = Database(postgres_schema_url), Database(_migrated(other_url))
        try:
            with first.write_session() as holder:
                audit.append(holder, AuditEntry(actor="a", action="complete", details={}))
                assert _advisory_locks_held(holder) == 1  # held until holder commits
                with second.write_session() as s:  # another schema: goes straight through
                    s.execute(text("SET LOCAL lock_timeout = '5s'"))
                    AuditRepository(s).record("b", "complete")
                    s.commit()
                with first.write_session() as s:  # the same schema: waits for the holder
                    s.execute(text("SET LOCAL lock_timeout = '200ms'"))
                    with pytest.raises(OperationalError, match="lock timeout"):
                        AuditRepository(s).record("c", "complete")
                holder.commit()
            for db in (first, second):
                with db.read_session() as s:
                    assert audit.verify(s).checked == 1
        finally:
            first.dispose()
            second.dispose()


def test_a_command_takes_the_chain_lock_only_at_commit(database: Database) -> None:
    with SqlUnitOfWork(database) as uow:
        uow.audit.record("officer", "claim", details={"n": 1})
        uow.audit.record("officer", "complete", details={"n": 2})
        assert [e.action for e in audit.pending(uow.session)] == ["claim", "complete"]
        assert uow.session.scalar(select(func.count()).select_from(AuditEntry)) == 0
        if not database.is_sqlite:
            assert _advisory_locks_held(uow.session) == 0
        uow.commit()
        assert audit.pending(uow.session) == []
    with database.read_session() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert audit.verify(s).ok
    assert [(e.action, e.details) for e in entries] == [
        ("claim", {"n": 1}),
        ("complete", {"n": 2}),
    ]
    assert entries[0].at <= entries[1].at


def test_entries_of_a_rolled_back_savepoint_or_command_are_not_chained(
    database: Database,
) -> None:
    with SqlUnitOfWork(database) as uow:
        uow.audit.record("officer", "kept", details={"n": 1})
        with pytest.raises(RuntimeError), uow.session.begin_nested():
            uow.audit.record("officer", "dropped", details={"n": 2})
            raise RuntimeError("the step failed")
        with uow.session.begin_nested():
            uow.audit.record("officer", "kept", details={"n": 3})
        uow.commit()
    with SqlUnitOfWork(database) as uow:
        uow.audit.record("officer", "dropped", details={"n": 4})  # never committed
    with database.read_session() as s:
        entries = s.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        assert audit.verify(s).ok
    assert [(e.action, e.details["n"]) for e in entries] == [("kept", 1), ("kept", 3)]


def test_a_failed_job_leaves_no_audit_entry(database: Database) -> None:
    def fails(_ctx: EngineContext, uow: SqlUnitOfWork, _job: Job) -> None:
        uow.audit.record("system", "half_done")
        raise RuntimeError("boom")

    def succeeds(_ctx: EngineContext, uow: SqlUnitOfWork, _job: Job) -> None:
        uow.audit.record("system", "done")

    ctx = EngineContext(db=database)
    jobs.register("test_fails", fails)
    jobs.register("test_succeeds", succeeds)
    try:
        with database.write_session() as s:
            s.add_all(
                [
                    Job(kind=kind, due_at=utcnow() - timedelta(seconds=1), payload={})
                    for kind in ("test_fails", "test_succeeds")
                ]
            )
            s.commit()
        assert jobs.run_one(ctx) and jobs.run_one(ctx)
    finally:
        jobs._handlers.pop("test_fails")
        jobs._handlers.pop("test_succeeds")
    with database.read_session() as s:
        assert [e.action for e in s.scalars(select(AuditEntry))] == ["done"]
        assert audit.verify(s).ok
        assert {j.kind: j.state for j in s.scalars(select(Job))} == {
            "test_fails": "pending",
            "test_succeeds": "done",
        }
