"""An event-based gateway waits for its message and its timer at once; the first one wins."""

from datetime import UTC, datetime

import pytest

from engine import commands, jobs, messages
from engine.clock import FakeClock
from engine.identity import SYSTEM
from tests.conftest import FIXTURES


@pytest.fixture
def ctx(app, deploy):
    deploy(FIXTURES / "event_gateway.bpmn")
    context = app.extensions["huiqian.engine"]
    context.clock = FakeClock(datetime(2026, 7, 1, 9, 0, tzinfo=UTC))
    return context


def _start(ctx):
    return commands.start_instance(
        ctx,
        SYSTEM,
        process_key="publicity_gateway",
        variables={},
        jurisdiction="baoji",
        business_key="brand-1",
    )


def _open(ctx, instance):
    return [task.bpmn_id for task in commands.list_open_tasks(ctx, instance.id)]


def test_timer_wins_when_no_message_arrives(ctx):
    instance = _start(ctx)
    ctx.clock.advance(days=5, seconds=1)
    assert jobs.run_due_jobs(ctx) == 1
    assert _open(ctx, instance) == ["announce"]


def test_message_wins_before_the_timer(ctx):
    instance = _start(ctx)
    [delivery] = messages.correlate(
        ctx, SYSTEM, "objection", {"business_key": "brand-1"}, {"reason": "名称重复"}
    )
    assert delivery.instance_id == instance.id
    assert _open(ctx, instance) == ["handle_objection"]
    ctx.clock.advance(days=6)
    assert jobs.run_due_jobs(ctx) == 0  # the timer job went with the gateway
    assert _open(ctx, instance) == ["handle_objection"]
