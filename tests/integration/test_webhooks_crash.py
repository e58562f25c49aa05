"""A worker process killed mid-run loses no delivery: 1,000 events, two workers, one SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from engine import events
from engine.clock import system_clock
from engine.context import EngineContext
from engine.db import Database
from engine.identity import SYSTEM
from engine.unit_of_work import SqlUnitOfWork
from tests.webhooks_helpers import settings
from webhooks import subscriptions
from webhooks.models import DELIVERED, Delivery
from webhooks.testing import Receiver

EVENTS = 1000
REPO = Path(__file__).resolve().parents[2]
# A bound against a hung run only; the test returns as soon as every delivery is done.
DEADLINE_SECONDS = 180


def _worker(url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "HUIQIAN_DATABASE_URL": url,
        "HUIQIAN_DATA_DIR": str(data_dir),
        "HUIQIAN_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "HUIQIAN_WEBHOOK_TIMEOUT_SECONDS": "2",
        "HUIQIAN_WEBHOOK_RETRY_SCHEDULE": "1,1,1,1,1,1,1",
    }
    command = [sys.executable, "-c", "from services.cli import main; main()", "worker"]
    return subprocess.Popen(
        [*command, "--idle", "0.05"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _emit_many(db: Database, count: int) -> None:
    with SqlUnitOfWork(db) as uow:
        for n in range(count):
            events.record(uow, "task.created", {"n": n}, at=system_clock(), jurisdiction="baoji")
        uow.commit()


def _delivered(db: Database) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).where(Delivery.state == DELIVERED)) or 0


def _wait(condition, what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_a_killed_worker_loses_no_delivery(postgres_schema_url, tmp_path):
    db = Database(postgres_schema_url)
    ctx = EngineContext(db=db)
    with Receiver() as receiver:
        subscriptions.create(
            ctx, settings(), SYSTEM, url=receiver.url, event_types=["task.created"]
        )
        _emit_many(db, EVENTS)
        victim = _worker(postgres_schema_url, tmp_path / "a")
        survivor = _worker(postgres_schema_url, tmp_path / "b")
        try:
            _wait(lambda: len(receiver.message_ids()) >= EVENTS // 4, "the first quarter")
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            _wait(lambda: _delivered(db) == EVENTS, "every delivery")
        finally:
            for process in (victim, survivor):
                if process.poll() is None:
                    process.terminate()
                    process.wait(timeout=30)
        ids = receiver.message_ids()
        received = len(receiver.received)
    db.dispose()

    assert len(ids) == EVENTS, "every event reached the receiver"
    assert received >= EVENTS, "duplicates are allowed, losses are not"
    print(f"\n{EVENTS} events: {received} requests, {received - EVENTS} duplicates")
