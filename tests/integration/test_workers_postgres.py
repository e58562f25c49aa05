"""Two worker processes share 1,000 due timers on PostgreSQL; one is killed midway.

Every timer must take effect exactly once: each instance fires once (its
script counted ``fired == 1``), has one open task after the timer, and no job
is left pending or failed.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import commands
from engine.clock import FakeClock
from engine.identity import SYSTEM
from engine.models import AuditEntry, HumanTask, Instance, Job
from services.app import create_app
from tests.conftest import FIXTURES

TIMERS = 1000
DEADLINE_SECONDS = 240


@pytest.fixture
def ctx(postgres_schema_url, tmp_path):
    app = create_app(
        {"HUIQIAN_DATABASE_URL": postgres_schema_url, "HUIQIAN_DATA_DIR": tmp_path / "data"}
    )
    context = app.extensions["huiqian.engine"]
    yield context
    context.db.dispose()


def _worker(url: str, data_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "HUIQIAN_DATABASE_URL": url, "HUIQIAN_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "-m", "services.cli", "worker", "--idle", "0.05"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _count(ctx, query) -> int:
    with ctx.db.read_session() as s:
        return s.scalar(query)


def _pending_timers(ctx) -> int:
    return _count(
        ctx,
        select(func.count()).select_from(Job).where(Job.kind == "timer", Job.state == "pending"),
    )


def test_timers_take_effect_exactly_once_when_a_worker_dies(ctx, postgres_schema_url, tmp_path):
    # Start everything an hour in the past, so every timer is already due for the workers.
    ctx.clock = FakeClock(datetime.now(UTC) - timedelta(hours=1))
    xml = (FIXTURES / "timer_then_task.bpmn").read_bytes()
    commands.deploy(ctx, SYSTEM, xml, "timer_then_task.bpmn")
    for number in range(TIMERS):
        commands.start_instance(
            ctx,
            SYSTEM,
            process_key="timer_then_task",
            variables={},
            jurisdiction="baoji",
            business_key=f"t{number}",
        )
    assert _pending_timers(ctx) == TIMERS

    workers = [_worker(postgres_schema_url, tmp_path / "data") for _ in range(2)]
    try:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while _pending_timers(ctx) > TIMERS * 2 // 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait()
        while _pending_timers(ctx) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=10)

    assert _pending_timers(ctx) == 0
    assert _count(ctx, select(func.count()).select_from(Job).where(Job.state == "failed")) == 0
    with ctx.db.read_session() as s:
        fired = [i.variables.get("fired") for i in s.scalars(select(Instance))]
        open_tasks = s.scalar(
            select(func.count()).select_from(HumanTask).where(HumanTask.state == "open")
        )
        timer_audits = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "timer")
        )
    assert fired == [1] * TIMERS
    assert open_tasks == TIMERS
    assert timer_audits == TIMERS
