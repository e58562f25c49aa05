"""What the database alone costs for a completion's statements: the floor under the engine.

A completion writes what ``co_review_profile.py --sql`` lists: it locks the
instance and the task, inserts an event, its job, a state patch, an opinion and
an audit entry, updates the task and the instance, takes the audit chain's
advisory lock and reads the last hash, and commits.  ``throughput`` replays a
transaction of that shape (same statements, similar row sizes, tables with the
same indexes) with ``pgbench``, a C client that costs next to nothing, from as
many concurrent clients as the engine-level run uses.  Its rate is what the
database and the machine allow before any Python runs: the ceiling for the
engine-level and HTTP throughput targets on this machine.

``sqlite_step`` runs the same shape on SQLite through the ``sqlite3`` module
(a thin C binding), opened as the engine opens it (WAL, ``synchronous=NORMAL``,
``BEGIN IMMEDIATE``), and gives the time of one such transaction.

Not a replay of the engine's exact SQL: the real rows' keys would collide
between clients.  The shape is kept in ``STEP`` and ``SQLITE_STEP`` below;
update them with the engine.
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import sqlite3
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from benchmarks.scaling import meters

INSTANCES = 1_000
TASKS = 100_000

SCHEMA = """
CREATE SCHEMA {s};
CREATE TABLE {s}.instances (id varchar(36) PRIMARY KEY, status varchar(20), variables json,
    patch_bytes integer, updated_at timestamptz, version integer);
CREATE TABLE {s}.human_tasks (id varchar(36) PRIMARY KEY,
    instance_id varchar(36) REFERENCES {s}.instances (id), state varchar(20),
    assignee varchar(100), result json, completed_at timestamptz, version integer);
CREATE INDEX ON {s}.human_tasks (instance_id);
CREATE TABLE {s}.events (id varchar(36) PRIMARY KEY, type varchar(50), at timestamptz,
    instance_id varchar(36), data json);
CREATE INDEX ON {s}.events (instance_id);
CREATE INDEX ON {s}.events (at);
CREATE TABLE {s}.jobs (id serial PRIMARY KEY, kind varchar(30), instance_id varchar(36),
    due_at timestamptz, state varchar(20), payload json, attempts integer);
CREATE INDEX ON {s}.jobs (state, due_at);
CREATE TABLE {s}.state_patches (id serial PRIMARY KEY, instance_id varchar(36), ops json,
    bytes integer);
CREATE INDEX ON {s}.state_patches (instance_id);
CREATE TABLE {s}.opinions (id serial PRIMARY KEY, instance_id varchar(36), task_id varchar(36),
    department varchar(50), decision varchar(20), opinion text, at timestamptz);
CREATE INDEX ON {s}.opinions (instance_id);
CREATE TABLE {s}.audit_log (id serial PRIMARY KEY, at timestamptz, actor varchar(100),
    action varchar(50), instance_id varchar(36), details json, prev_hash varchar(64) UNIQUE,
    hash varchar(64));
INSERT INTO {s}.instances
    SELECT 'i' || g, 'running', '{{}}', 0, now(), 1 FROM generate_series(1, {instances}) g;
INSERT INTO {s}.human_tasks
    SELECT 't' || g, 'i' || (mod(g, {instances}) + 1), 'open', NULL, NULL, NULL, 1
    FROM generate_series(1, {tasks}) g;
INSERT INTO {s}.audit_log (prev_hash, hash) VALUES (repeat('0', 64), repeat('f', 64));
"""

# One completion: the statements and bytes of the engine's step at N = 19 (state patch
# about 1.3 kB, the instance's row about 3.6 kB, events about 0.6 kB).
STEP = """
\\set t random(1, {tasks})
\\set i random(1, {instances})
BEGIN;
SELECT * FROM {s}.instances WHERE id = 'i' || :i FOR UPDATE;
SELECT * FROM {s}.human_tasks WHERE id = 't' || :t FOR UPDATE;
INSERT INTO {s}.events VALUES (md5(random()::text), 'task.completed', now(), 'i' || :i,
    ('"' || repeat('e', 600) || '"')::json);
INSERT INTO {s}.jobs (kind, instance_id, due_at, state, payload, attempts)
    VALUES ('event', NULL, now(), 'pending', '{{"event_id": "x"}}', 0);
INSERT INTO {s}.state_patches (instance_id, ops, bytes)
    VALUES ('i' || :i, ('"' || repeat('p', 1300) || '"')::json, 1300);
UPDATE {s}.human_tasks SET state = 'completed', completed_at = now(), version = version + 1
    WHERE id = 't' || :t;
INSERT INTO {s}.opinions (instance_id, task_id, department, decision, opinion, at)
    VALUES ('i' || :i, 't' || :t, 'dept', 'agree', 'ok', now());
UPDATE {s}.instances SET patch_bytes = patch_bytes + 1, updated_at = now(),
    variables = ('"' || repeat('v', 3500) || '"')::json WHERE id = 'i' || :i;
SELECT pg_advisory_xact_lock(hashtextextended('{s}', 0));
SELECT hash FROM {s}.audit_log ORDER BY id DESC LIMIT 1;
INSERT INTO {s}.audit_log (at, actor, action, instance_id, details, prev_hash, hash)
    VALUES (now(), 'officer', 'complete', 'i' || :i, '{{}}',
        md5(random()::text) || md5(random()::text), md5(random()::text));
COMMIT;
"""


def pgbench() -> str | None:
    """The pgbench binary: on PATH, or where Debian's PostgreSQL server package puts it."""
    found = shutil.which("pgbench") or sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench"))
    if isinstance(found, list):
        return found[-1] if found else None
    return found


def throughput(postgres: str, clients: int, seconds: float) -> dict[str, Any]:
    """Completion-shaped transactions per second from ``clients`` pgbench clients."""
    binary = pgbench()
    if binary is None:
        raise RuntimeError("pgbench not found (Debian: postgresql's server package)")
    schema = f"bench_floor_{os.getpid()}"
    url = make_url(postgres)
    engine = create_engine(postgres)
    sizes = {"s": schema, "instances": INSTANCES, "tasks": TASKS}
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(SCHEMA.format(**sizes))
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "step.sql"
            script.write_text(STEP.format(**sizes))
            command = [binary, "-n", "-c", str(clients), "-j", str(min(clients, 2))]
            command += ["-T", str(int(seconds)), "-f", str(script), "-l"]
            command += ["--log-prefix", str(Path(tmp) / "log")]
            command += ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)]
            command += ["-U", url.username or "postgres", url.database or "postgres"]
            subprocess.run(command, check=True, capture_output=True, text=True)
            latencies = _latencies(Path(tmp))
    finally:
        with engine.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()
    return {
        "layer": "database floor",
        "backend": "postgresql",
        "clients": f"pgbench, {clients} clients",
        "n": 19,
        "completions": len(latencies),
        "errors": 0,
        "seconds": seconds,
        "per_s": len(latencies) / seconds,
        "p50_ms": 1000 * meters.percentile(latencies, 0.50),
        "p95_ms": 1000 * meters.percentile(latencies, 0.95),
        "p99_ms": 1000 * meters.percentile(latencies, 0.99),
    }


def _latencies(folder: Path) -> list[float]:
    """Seconds per transaction from pgbench's per-transaction logs (third field: µs)."""
    found = []
    for log in folder.glob("log.*"):
        for line in log.read_text().splitlines():
            found.append(int(line.split()[2]) / 1_000_000)
    return found


SQLITE_SCHEMA = """
CREATE TABLE instances (id TEXT PRIMARY KEY, status TEXT, variables TEXT, patch_bytes INTEGER,
    updated_at TEXT, version INTEGER);
CREATE TABLE human_tasks (id TEXT PRIMARY KEY, instance_id TEXT REFERENCES instances (id),
    state TEXT, assignee TEXT, result TEXT, completed_at TEXT, version INTEGER);
CREATE INDEX human_tasks_instance ON human_tasks (instance_id);
CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT, at TEXT, instance_id TEXT, data TEXT);
CREATE INDEX events_instance ON events (instance_id);
CREATE INDEX events_at ON events (at);
CREATE TABLE jobs (id INTEGER PRIMARY KEY, kind TEXT, instance_id TEXT, due_at TEXT,
    state TEXT, payload TEXT, attempts INTEGER);
CREATE INDEX jobs_due ON jobs (state, due_at);
CREATE TABLE state_patches (id INTEGER PRIMARY KEY, instance_id TEXT, ops TEXT, bytes INTEGER);
CREATE INDEX state_patches_instance ON state_patches (instance_id);
CREATE TABLE opinions (id INTEGER PRIMARY KEY, instance_id TEXT, task_id TEXT, department TEXT,
    decision TEXT, opinion TEXT, at TEXT);
CREATE INDEX opinions_instance ON opinions (instance_id);
CREATE TABLE audit_log (id INTEGER PRIMARY KEY, at TEXT, actor TEXT, action TEXT,
    instance_id TEXT, details TEXT, prev_hash TEXT UNIQUE, hash TEXT);
"""

# STEP's statements, less PostgreSQL's row and advisory locks (BEGIN IMMEDIATE serialises).
SQLITE_STEP = [
    "SELECT * FROM instances WHERE id = :i",
    "SELECT * FROM human_tasks WHERE id = :t",
    "INSERT INTO events VALUES (:key, 'task.completed', datetime('now'), :i, :event)",
    "INSERT INTO jobs (kind, instance_id, due_at, state, payload, attempts) "
    "VALUES ('event', NULL, datetime('now'), 'pending', '{\"event_id\": \"x\"}', 0)",
    "INSERT INTO state_patches (instance_id, ops, bytes) VALUES (:i, :patch, 1300)",
    "UPDATE human_tasks SET state = 'completed', completed_at = datetime('now'), "
    "version = version + 1 WHERE id = :t",
    "INSERT INTO opinions (instance_id, task_id, department, decision, opinion, at) "
    "VALUES (:i, :t, 'dept', 'agree', 'ok', datetime('now'))",
    "UPDATE instances SET patch_bytes = patch_bytes + 1, updated_at = datetime('now'), "
    "variables = :variables WHERE id = :i",
    "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1",
    "INSERT INTO audit_log (at, actor, action, instance_id, details, prev_hash, hash) "
    "VALUES (datetime('now'), 'officer', 'complete', :i, '{}', :key, :key)",
]


def sqlite_step(transactions: int = 2_000) -> dict[str, Any]:
    """p50 and mean of one completion-shaped transaction on SQLite, one writer."""
    with tempfile.TemporaryDirectory() as tmp:
        connection = sqlite3.connect(Path(tmp) / "floor.sqlite3", isolation_level=None)
        for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL"):
            connection.execute(f"PRAGMA {pragma}")
        connection.executescript(SQLITE_SCHEMA)
        with connection:
            connection.executemany(
                "INSERT INTO instances VALUES (?, 'running', '{}', 0, datetime('now'), 1)",
                [(f"i{k}",) for k in range(1, INSTANCES + 1)],
            )
            connection.executemany(
                "INSERT INTO human_tasks VALUES (?, ?, 'open', NULL, NULL, NULL, 1)",
                [(f"t{k}", f"i{k % INSTANCES + 1}") for k in range(1, TASKS + 1)],
            )
        seconds = []
        for _ in range(transactions):
            values = {
                "i": f"i{random.randint(1, INSTANCES)}",
                "t": f"t{random.randint(1, TASKS)}",
                "key": uuid.uuid4().hex,
                "event": '"' + "e" * 600 + '"',
                "patch": '"' + "p" * 1300 + '"',
                "variables": '"' + "v" * 3500 + '"',
            }
            began = time.perf_counter()
            connection.execute("BEGIN IMMEDIATE")
            for statement in SQLITE_STEP:
                connection.execute(statement, values).fetchall()
            connection.execute("COMMIT")
            seconds.append(time.perf_counter() - began)
        connection.close()
    return {
        "transactions": transactions,
        "p50_ms": 1000 * meters.percentile(seconds, 0.50),
        "mean_ms": 1000 * sum(seconds) / len(seconds),
    }
