"""The audit log is a hash chain: appended safely, never rewritten, and any change is found."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from engine import audit, schema
from engine.db import Database
from engine.models import AuditEntry, AuditRewriteRefused
from engine.repository import AuditRepository
from services.cli import main as huiqian

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
