"""Timer start events start a new instance per jurisdiction at each due time."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from engine import jobs
from engine.clock import FakeClock
from engine.models import Instance, Job
from engine.timer_starts import START_TIMER
from tests.conftest import FIXTURES

DEPLOYED_AT = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
CYCLE = (FIXTURES / "timer_start.bpmn").read_bytes()


@pytest.fixture
def ctx(app):
    context = app.extensions["huiqian.engine"]
    context.clock = FakeClock(DEPLOYED_AT)
    return context


def _instances(ctx):
    with ctx.db.read_session() as s:
        return list(
            s.scalars(select(Instance).order_by(Instance.created_at, Instance.jurisdiction))
        )


def _pending_start_jobs(ctx):
    with ctx.db.read_session() as s:
        return list(s.scalars(select(Job).where(Job.kind == START_TIMER, Job.state == "pending")))


def test_cycle_start_creates_instances_each_cycle_then_stops(ctx, deploy):
    deploy(CYCLE, "timer_start.bpmn")
    [job] = _pending_start_jobs(ctx)
    assert job.due_at == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert jobs.run_due_jobs(ctx) == 0
    assert _instances(ctx) == []

    for hour in (9, 10, 11):
        ctx.clock.current = datetime(2026, 6, 1, hour, 0, 1, tzinfo=UTC)
        jobs.run_due_jobs(ctx)
    instances = _instances(ctx)
    assert len(instances) == 6  # 3 cycles × (baoji, qinghai)
    assert {i.jurisdiction for i in instances} == {"baoji", "qinghai"}
    assert {i.started_by for i in instances} == {"scheduler"}
    assert _pending_start_jobs(ctx) == []

    ctx.clock.advance(hours=5)
    jobs.run_due_jobs(ctx)
    assert len(_instances(ctx)) == 6


def test_started_instance_is_past_its_start_event(ctx, deploy, client, login):
    deploy(CYCLE, "timer_start.bpmn")
    ctx.clock.advance(hours=1, seconds=1)
    jobs.run_due_jobs(ctx)
    tasks = client.get("/api/v1/tasks?state=open", headers=login("baoji.hrss")).get_json()
    assert [t["bpmn_id"] for t in tasks] == ["check"]


def test_new_version_replaces_the_schedule(ctx, deploy):
    deploy(CYCLE, "timer_start.bpmn")
    changed = CYCLE.replace(b'"R3/PT1H"', b'"R/PT30M"')
    deploy(changed, "timer_start.bpmn")
    [job] = _pending_start_jobs(ctx)
    assert job.due_at == datetime(2026, 6, 1, 8, 30, tzinfo=UTC)
    assert job.payload["cycles"] == -1
    ctx.clock.advance(minutes=31)
    jobs.run_due_jobs(ctx)
    assert len(_instances(ctx)) == 2
    [following] = _pending_start_jobs(ctx)
    assert following.due_at == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def test_date_start_fires_once(ctx, deploy):
    dated = CYCLE.replace(
        b'<bpmn:timeCycle>"R3/PT1H"</bpmn:timeCycle>',
        b'<bpmn:timeDate>"2026-06-02T00:00:00+00:00"</bpmn:timeDate>',
    )
    deploy(dated, "timer_start.bpmn")
    ctx.clock.current = datetime(2026, 6, 3, tzinfo=UTC)
    jobs.run_due_jobs(ctx)
    assert len(_instances(ctx)) == 2
    assert _pending_start_jobs(ctx) == []
    with ctx.db.read_session() as s:
        assert s.scalar(select(func.count()).select_from(Job).where(Job.state == "failed")) == 0
