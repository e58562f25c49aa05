"""Prometheus metrics: protected, computed from the database, with request latency."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from engine import jobs
from engine.clock import FakeClock
from engine.models import Job
from tests.api_helpers import TWO_LANES, ok, start
from tests.webhooks_helpers import emit, subscribe
from webhooks.models import DELIVERY_STATES

METRICS_TOKEN = "scrape-token-for-tests"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def scrape(app, client):
    app.config["HUIQIAN_METRICS_TOKEN"] = METRICS_TOKEN

    def samples() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        assert response.status_code == 200, response.text
        assert response.mimetype == "text/plain"
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text)
            for sample in family.samples
        }

    return samples


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))))


def test_anonymous_and_non_admins_are_refused(app, client, login):
    app.config["HUIQIAN_METRICS_TOKEN"] = METRICS_TOKEN
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers=login("integrator")).status_code == 403
    assert client.get("/metrics", headers=login("admin")).status_code == 200


def test_instances_and_open_tasks_by_department(app, client, login, deploy, scrape):
    ctx = app.extensions["huiqian.engine"]
    ctx.clock = FakeClock(NOW)
    deploy(TWO_LANES)
    admin = login("admin")
    for _ in range(2):
        start(client, admin, jurisdiction="baoji")
    ctx.clock.advance(hours=10)
    start(client, admin, jurisdiction="qinghai")
    ctx.clock.advance(hours=2)

    samples = scrape()
    assert value(samples, "huiqian_database_up") == 1
    assert value(samples, "huiqian_instances", process="two_lane_review", status="running") == 3
    baoji = {"jurisdiction": "baoji", "department": "hrss"}
    assert value(samples, "huiqian_open_tasks", **baoji) == 2
    assert value(samples, "huiqian_open_task_oldest_age_seconds", **baoji) == 12 * 3600
    assert value(samples, "huiqian_open_task_age_seconds_bucket", le="3600.0", **baoji) == 0
    assert value(samples, "huiqian_open_task_age_seconds_bucket", le="86400.0", **baoji) == 2
    assert value(samples, "huiqian_open_task_age_seconds_gsum", **baoji) == pytest.approx(
        2 * 12 * 3600, abs=1
    )
    qinghai = {"jurisdiction": "qinghai", "department": "hrss"}
    assert value(samples, "huiqian_open_task_age_seconds_bucket", le="28800.0", **qinghai) == 1
    assert value(samples, "huiqian_open_tasks_overdue", **baoji) == 0


def test_job_lag_is_the_age_of_the_oldest_due_pending_job(app, scrape):
    ctx = app.extensions["huiqian.engine"]
    ctx.clock = FakeClock(NOW)
    with ctx.db.write_session() as s:
        s.add(Job(kind="timer", due_at=NOW - timedelta(seconds=90), payload={}))
        s.add(Job(kind="timer", due_at=NOW - timedelta(seconds=30), payload={}))
        s.add(Job(kind="task_due", due_at=NOW + timedelta(hours=1), payload={}))
        s.add(Job(kind="timer", due_at=NOW, state="failed", payload={}))
        s.commit()
    samples = scrape()
    assert value(samples, "huiqian_job_lag_seconds", kind="timer") == 90
    assert value(samples, "huiqian_job_lag_seconds", kind="task_due") == 0
    assert value(samples, "huiqian_jobs", kind="timer", state="pending") == 2
    assert value(samples, "huiqian_jobs", kind="timer", state="failed") == 1


def test_webhook_deliveries_by_state(hook_ctx, scrape):
    subscribe(hook_ctx, "http://127.0.0.1:9/hook", ["task.created"])
    emit(hook_ctx, "task.created")
    emit(hook_ctx, "task.created")
    jobs.run_due_jobs(hook_ctx)  # fan-out, and one attempt each (nobody listens on port 9)
    by_state = {
        labels[0][1]: number
        for (name, labels), number in scrape().items()
        if name == "huiqian_webhook_deliveries"
    }
    assert sum(by_state.values()) == 2 and set(by_state) <= set(DELIVERY_STATES)


def test_request_latency_is_recorded_by_route_and_status(client, login, scrape):
    admin = login("admin")
    before = value(
        scrape(),
        "huiqian_http_request_duration_seconds_count",
        method="GET",
        endpoint="/api/v1/instances/<instance_id>",
        status="404",
    )
    for _ in range(3):
        client.get("/api/v1/instances/no-such-instance", headers=admin)
    after = value(
        scrape(),
        "huiqian_http_request_duration_seconds_count",
        method="GET",
        endpoint="/api/v1/instances/<instance_id>",
        status="404",
    )
    assert after - (before or 0) == 3


def test_scrape_text_names_no_object_ids(client, login, deploy, scrape):
    deploy(TWO_LANES)
    instance = start(client, login("admin"), jurisdiction="baoji")
    client.get(f"/api/v1/instances/{instance['id']}", headers=login("admin"))
    text = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert instance["id"] not in text
    assert re.search(r'endpoint="/api/v1/instances/<instance_id>"', text)
    ok(client.get("/api/v1/health/live"))
