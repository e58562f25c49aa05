"""Asynchronous service tasks run in the job worker, retry with backoff, then open incidents."""

from datetime import UTC, datetime

import pytest

from engine import commands, jobs
from engine.clock import FakeClock
from engine.identity import SYSTEM
from tests.conftest import FIXTURES


class FlakyHandler:
    """Fails a given number of times, then reserves the amount."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: list[dict] = []

    def __call__(self, name, params, data):
        self.calls.append(dict(params))
        if len(self.calls) <= self.failures:
            raise RuntimeError(f"budget system unavailable (call {len(self.calls)})")
        return {"reserved": params["amount"]}


@pytest.fixture
def flaky(app, deploy):
    ctx = app.extensions["huiqian.engine"]
    handler = FlakyHandler(failures=0)
    original = ctx.call_handler

    def call(name, params, data):
        return handler(name, params, data) if name == "fin.flaky" else original(name, params, data)

    ctx.handlers = frozenset(ctx.handlers) | {"fin.flaky"}
    ctx.call_handler = call
    ctx._script_engine = None
    ctx.clock = FakeClock(datetime(2026, 5, 6, 8, 0, tzinfo=UTC))
    deploy(FIXTURES / "async_service.bpmn")
    return ctx, handler


def _start(ctx):
    return commands.start_instance(
        ctx,
        SYSTEM,
        process_key="async_reservation",
        variables={"amount": 1200},
        jurisdiction="baoji",
    )


def test_the_request_returns_before_the_handler_runs(flaky):
    ctx, handler = flaky
    instance = _start(ctx)
    assert handler.calls == []
    assert commands.list_open_tasks(ctx, instance.id) == []

    assert jobs.run_due_jobs(ctx) >= 1
    assert handler.calls == [{"amount": 1200}]
    [confirm] = commands.list_open_tasks(ctx, instance.id)
    assert confirm.bpmn_id == "confirm"
    assert commands.get_instance(ctx, SYSTEM, instance.id).variables["reservation"] == {
        "reserved": 1200
    }


def test_failures_retry_with_growing_backoff_then_succeed(flaky):
    ctx, handler = flaky
    handler.failures = 2
    instance = _start(ctx)
    jobs.run_due_jobs(ctx)
    assert len(handler.calls) == 1
    ctx.clock.advance(seconds=9)
    jobs.run_due_jobs(ctx)
    assert len(handler.calls) == 1  # first backoff is 10 s
    ctx.clock.advance(seconds=2)
    jobs.run_due_jobs(ctx)
    assert len(handler.calls) == 2
    ctx.clock.advance(seconds=19)
    jobs.run_due_jobs(ctx)
    assert len(handler.calls) == 2  # second backoff is 20 s
    ctx.clock.advance(seconds=2)
    jobs.run_due_jobs(ctx)
    assert len(handler.calls) == 3
    assert [t.bpmn_id for t in commands.list_open_tasks(ctx, instance.id)] == ["confirm"]


def test_exhausted_retries_open_an_incident_that_an_admin_retries(flaky, client, login):
    ctx, handler = flaky
    handler.failures = 3
    instance = _start(ctx)
    for _ in range(3):
        jobs.run_due_jobs(ctx)
        ctx.clock.advance(minutes=5)
    assert len(handler.calls) == 3
    admin = login("admin")
    assert (
        client.get(f"/api/v1/instances/{instance.id}", headers=admin).get_json()["status"]
        == "error"
    )
    [incident] = client.get("/api/v1/incidents", headers=admin).get_json()
    assert incident["instance_id"] == instance.id
    assert incident["element_id"] == "reserve"
    assert incident["attempts"] == 3
    assert "budget system unavailable (call 3)" in incident["error"]

    retried = client.post(f"/api/v1/incidents/{incident['id']}/retry", headers=admin)
    assert retried.status_code == 200
    assert retried.get_json()["resolved_by"] == "admin"
    jobs.run_due_jobs(ctx)
    assert len(handler.calls) == 4
    status = client.get(f"/api/v1/instances/{instance.id}", headers=admin).get_json()["status"]
    assert status == "running"
    assert [t.bpmn_id for t in commands.list_open_tasks(ctx, instance.id)] == ["confirm"]
    assert client.get("/api/v1/incidents", headers=admin).get_json() == []
    again = client.post(f"/api/v1/incidents/{incident['id']}/retry", headers=admin)
    assert again.status_code == 409


def test_incidents_are_for_admins(flaky, client, login):
    assert client.get("/api/v1/incidents", headers=login("baoji.fin")).status_code == 403
    assert client.get("/api/v1/incidents", headers=login("integrator")).status_code == 403
