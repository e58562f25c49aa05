"""Timers fire through the job table under an injected clock: no real waiting."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from engine import commands, jobs
from engine.clock import FakeClock
from engine.identity import SYSTEM
from engine.models import Event, Job
from tests.conftest import FIXTURES

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def ctx(app, deploy):
    deploy(FIXTURES / "timers.bpmn")
    context = app.extensions["huiqian.engine"]
    context.clock = FakeClock(START)
    return context


def _pending_jobs(ctx, instance_id):
    with ctx.db.read_session() as s:
        return list(
            s.scalars(
                select(Job).where(
                    Job.instance_id == instance_id, Job.state == "pending", Job.kind == "timer"
                )
            )
        )


def _open_tasks(ctx, instance_id):
    return [t.bpmn_id for t in commands.list_open_tasks(ctx, instance_id)]


def _start(ctx):
    return commands.start_instance(
        ctx, SYSTEM, process_key="timer_review", variables={}, jurisdiction="baoji"
    )


def test_intermediate_timer_waits_for_its_due_time_then_fires_once(ctx):
    instance = _start(ctx)
    [job] = _pending_jobs(ctx, instance.id)
    assert job.due_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert jobs.run_due_jobs(ctx) == 0

    ctx.clock.advance(hours=23, minutes=59)
    assert jobs.run_due_jobs(ctx) == 0
    assert _open_tasks(ctx, instance.id) == []

    ctx.clock.advance(minutes=2)
    assert jobs.run_due_jobs(ctx) == 1
    assert _open_tasks(ctx, instance.id) == ["review"]
    assert jobs.run_due_jobs(ctx) == 0


def test_task_due_date_follows_the_clock(ctx):
    instance = _start(ctx)
    ctx.clock.advance(days=1, seconds=1)
    jobs.run_due_jobs(ctx)
    [task] = commands.list_open_tasks(ctx, instance.id)
    assert task.due_at == datetime(2026, 3, 3, 11, 0, 1, tzinfo=UTC)


def test_interrupting_boundary_timer_cancels_the_task_and_escalates_to_the_lead(ctx):
    instance = _start(ctx)
    ctx.clock.advance(days=1, seconds=1)
    jobs.run_due_jobs(ctx)
    review = commands.list_open_tasks(ctx, instance.id)[0]

    ctx.clock.advance(hours=2, seconds=1)
    assert jobs.run_due_jobs(ctx) == 2  # the boundary timer and the task's due date
    [escalated] = commands.list_open_tasks(ctx, instance.id)
    assert escalated.bpmn_id == "escalated"
    assert escalated.department == "hrss"
    assert commands.get_task(ctx, SYSTEM, review.id).state == "cancelled"
    assert _pending_jobs(ctx, instance.id) == []


def test_completing_the_task_in_time_drops_its_timer_job(ctx, login, client):
    instance = _start(ctx)
    ctx.clock.advance(days=1, seconds=1)
    jobs.run_due_jobs(ctx)
    [review] = commands.list_open_tasks(ctx, instance.id)
    assert len(_pending_jobs(ctx, instance.id)) == 1

    commands.complete_task(ctx, SYSTEM, review.id, {})
    assert _pending_jobs(ctx, instance.id) == []
    assert commands.get_instance(ctx, SYSTEM, instance.id).status == "completed"


def test_terminating_an_instance_drops_its_timer_jobs(ctx):
    instance = _start(ctx)
    commands.terminate_instance(ctx, SYSTEM, instance.id, "withdrawn")
    assert _pending_jobs(ctx, instance.id) == []


def test_task_still_open_at_its_due_date_is_announced_overdue_once(ctx):
    instance = _start(ctx)
    ctx.clock.advance(days=1, seconds=1)
    jobs.run_due_jobs(ctx)
    [review] = commands.list_open_tasks(ctx, instance.id)
    ctx.clock.advance(hours=2, seconds=1)
    jobs.run_due_jobs(ctx)
    with ctx.db.read_session() as s:
        overdue = list(s.scalars(select(Event).where(Event.type == "task.overdue")))
    assert [event.data["task_id"] for event in overdue] == [review.id]
    assert overdue[0].data["links"]["task"] == f"/api/v1/tasks/{review.id}"
