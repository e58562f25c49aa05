"""Databases for the benchmark: fresh ones, and ones already holding many finished instances.

Every configuration gets a database of its own: a SQLite file in a temporary
directory, or a PostgreSQL schema made for the run and dropped afterwards
(never ``public``).  ``fill`` makes a database look like one that has served
for a while: it runs one co-review to the end through the engine, then copies
that instance's rows (instance, tasks, audit, events, jobs, …) ``copies`` times
with ``INSERT … SELECT`` on the server.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, String, create_engine, func, select, text
from sqlalchemy.pool import NullPool

from benchmarks.scaling import workload
from engine import commands
from engine.db import Database
from engine.identity import SYSTEM
from engine.models import Base
from services import migrations
from services.demo import seed_demo_users

FILL_BATCH = 1000
PASSWORD = "huiqian-bench-password"
# Rewritten per copy: ids, references to copied rows, and the audit chain's links
# (``prev_hash`` is unique, and each copy's entries link to one another).
COPIED_REFERENCES = {"instance_id", "task_id", "prev_hash", "hash"}


@dataclass(frozen=True)
class BenchDatabase:
    backend: str  # sqlite | postgresql
    url: str


@contextmanager
def fresh(backend: str, postgres: str) -> Iterator[BenchDatabase]:
    """An empty database, removed on exit."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="huiqian-bench-") as tmp:
            yield BenchDatabase(backend, f"sqlite:///{tmp}/bench.sqlite3")
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(postgres, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres else "?"
    try:
        yield BenchDatabase(backend, f"{postgres}{separator}options=-csearch_path%3D{schema}")
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def prepare(database: BenchDatabase, data_dir: Path, *, users: bool = False) -> None:
    """Migrate, deploy the co-review and, for the service, seed the demo users."""
    ctx = workload.engine_context(data_dir, database.url)
    try:
        migrations.upgrade(ctx.db)
        commands.deploy(ctx, SYSTEM, workload.CO_REVIEW.read_bytes(), workload.CO_REVIEW.name)
        if users:
            seed_demo_users(ctx, PASSWORD)
    finally:
        ctx.db.dispose()


def run_one_to_the_end(database: BenchDatabase, data_dir: Path, n: int) -> str:
    """A co-review of ``n`` departments, started and answered by all; returns its id."""
    ctx = workload.engine_context(data_dir, database.url)
    try:
        instance_id = workload.start_co_review(ctx)
        for task in commands.list_open_tasks(ctx, instance_id):
            assert task.department is not None
            commands.complete_task(ctx, workload.officer(task.department), task.id, workload.ANSWER)
        return instance_id
    finally:
        ctx.db.dispose()


def _copy_statement(table: Any, template: str) -> str:
    """``INSERT … SELECT`` of the ``template`` table's rows once per ``k`` in [:first, :last]."""
    columns, values = [], []
    for column in table.columns:
        if column.primary_key and isinstance(column.type, Integer):
            continue  # autoincrement
        mapped = isinstance(column.type, String) and (
            column.primary_key
            or column.name in COPIED_REFERENCES
            or any(
                fk.column.table.name in ("instances", "human_tasks") for fk in column.foreign_keys
            )
        )
        columns.append(column.name)
        values.append(
            f"'fill-' || CAST(copies.k AS TEXT) || '-' || substr(t.{column.name}, 1, 24)"
            if mapped
            else f"t.{column.name}"
        )
    return (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        "WITH RECURSIVE copies(k) AS (SELECT CAST(:first AS INTEGER) "
        "UNION ALL SELECT k + 1 FROM copies WHERE k < :last) "
        f"SELECT {', '.join(values)} FROM {template} t, copies"
    )


def fill(database: BenchDatabase, data_dir: Path, copies: int, n: int = 19) -> dict[str, Any]:
    """Add ``copies`` finished co-reviews of ``n`` departments; returns what was done.

    The database must hold nothing but the prepared definitions: every row of an
    instance-related table after the first co-review is that co-review's, and is
    copied from a snapshot table (``bench_template_*``) so each batch reads only those.
    """
    started = time.perf_counter()
    run_one_to_the_end(database, data_dir, n)
    tables = [
        table
        for table in Base.metadata.sorted_tables
        if table.name == "instances" or {"instance_id", "task_id"} & set(table.columns.keys())
    ]
    engine = create_engine(database.url, poolclass=NullPool)
    rows: dict[str, int] = {}
    with engine.connect() as connection:
        for table in tables:
            if not connection.scalar(select(func.count()).select_from(table)):
                continue
            template = f"bench_template_{table.name}"
            connection.execute(text(f"CREATE TABLE {template} AS SELECT * FROM {table.name}"))
            statement = text(_copy_statement(table, template))
            for first in range(1, copies + 1, FILL_BATCH):
                last = min(copies, first + FILL_BATCH - 1)
                result = connection.execute(statement, {"first": first, "last": last})
                rows[table.name] = rows.get(table.name, 0) + result.rowcount
                connection.commit()
            connection.execute(text(f"DROP TABLE {template}"))
            connection.commit()
    if database.backend == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in tables:
                connection.execute(text(f"VACUUM ANALYZE {table.name}"))
            # Write the copies out now, not during the measurement that follows.
            connection.execute(text("CHECKPOINT"))
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return {"copies": copies, "rows": rows, "seconds": time.perf_counter() - started}


def commit_floor(backend: str, postgres: str, commits: int = 300) -> dict[str, Any]:
    """What one durable transaction costs here: update one small row and commit.

    Opened as the engine opens its writers (``engine.db.Database``: ``BEGIN
    IMMEDIATE`` and WAL on SQLite), so it is the least any completion can cost.
    """
    with fresh(backend, postgres) as database:
        db = Database(database.url)
        try:
            with db.engine.begin() as connection:
                connection.execute(
                    text("CREATE TABLE bench_probe (id INTEGER PRIMARY KEY, n INTEGER)")
                )
                connection.execute(text("INSERT INTO bench_probe VALUES (1, 0)"))
            seconds = []
            for _ in range(commits):
                began = time.perf_counter()
                with db.write_session() as session:
                    session.execute(text("UPDATE bench_probe SET n = n + 1 WHERE id = 1"))
                    session.commit()
                seconds.append(time.perf_counter() - began)
        finally:
            db.dispose()
    return {
        "backend": backend,
        "commits": commits,
        "p50_ms": 1000 * statistics.median(seconds),
        "mean_ms": 1000 * statistics.fmean(seconds),
    }
