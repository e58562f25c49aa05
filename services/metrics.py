"""Prometheus metrics at ``GET /metrics`` (text exposition format).

Two sources:

* **Request latency** is measured in each API process (a histogram by method,
  route and status, observed in an ``after_request`` hook).  Under gunicorn
  several processes serve, so ``huiqian serve`` sets ``PROMETHEUS_MULTIPROC_DIR``
  and prometheus_client's multiprocess mode sums the processes' files; without
  it (the demo, tests) the process's own registry is exported.
* **Everything else is read from the database on each scrape**: instances by
  process and status, open tasks by department (count, overdue, age histogram,
  oldest), the job queue (pending and failed by kind, and the lag of the oldest
  due job), open incidents and webhook deliveries by state.  The database is the
  one place all API processes and workers share, so any process answers the
  same, and nothing is lost when a process restarts.

Access: a bearer token equal to ``HUIQIAN_METRICS_TOKEN`` (what a Prometheus
scrape job is given), or an admin's token.  Anyone else gets 401/403: the
numbers show which departments are behind, which is not public.
"""

from __future__ import annotations

import hmac
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeHistogramMetricFamily, GaugeMetricFamily, Metric
from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from engine.errors import Forbidden
from engine.models import HumanTask, Incident, Instance, Job
from services.auth import current_principal
from services.extensions import engine_context
from webhooks.models import Delivery

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TOKEN_SETTING = "HUIQIAN_METRICS_TOKEN"
# Open-task age buckets: an hour, a working day, 1/3/5/10 days, a month.
TASK_AGE_BUCKETS = (3600, 8 * 3600, 86400, 3 * 86400, 5 * 86400, 10 * 86400, 30 * 86400)

_process_registry = CollectorRegistry(auto_describe=True)
REQUEST_LATENCY = Histogram(
    "huiqian_http_request_duration_seconds",
    "Time to answer an API request, by method, route and status.",
    ["method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=_process_registry,
)


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("metrics_started")
    if started is not None:
        # The route pattern, not the path: ids in paths would make a series per object.
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        REQUEST_LATENCY.labels(request.method, endpoint, str(response.status_code)).observe(
            time.perf_counter() - started
        )
    return response


# --- database gauges -----------------------------------------------------------------------


def _epoch_seconds(column: Any, sqlite: bool) -> ColumnElement[float]:
    """Seconds since 1970 of a timestamp column, in SQL (SQLite has no ``extract``)."""
    if sqlite:
        return (func.julianday(column) - 2440587.5) * 86400.0
    return func.extract("epoch", column)


def _gauge(name: str, doc: str, labels: list[str], rows: Any) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for *values, number in rows:
        family.add_metric([str(value) for value in values], float(number or 0))
    return family


def _instances(session: Session) -> Iterator[Metric]:
    query = select(Instance.process_key, Instance.status, func.count()).group_by(
        Instance.process_key, Instance.status
    )
    yield _gauge(
        "huiqian_instances",
        "Process instances by process and status.",
        ["process", "status"],
        session.execute(query),
    )


def _open_tasks(session: Session, now: datetime, sqlite: bool) -> Iterator[Metric]:
    department = (
        func.coalesce(HumanTask.jurisdiction, ""),
        func.coalesce(HumanTask.department, ""),
    )
    open_rows = HumanTask.state == "open"
    buckets = [
        func.sum(case((HumanTask.created_at <= now - timedelta(seconds=bound), 1), else_=0))
        for bound in TASK_AGE_BUCKETS
    ]
    query = (
        select(
            *department,
            func.count(),
            func.sum(case((HumanTask.due_at < now, 1), else_=0)),
            func.min(HumanTask.created_at),
            func.sum(_epoch_seconds(HumanTask.created_at, sqlite)),
            *buckets,
        )
        .where(open_rows)
        .group_by(*department)
    )
    labels = ["jurisdiction", "department"]
    count = GaugeMetricFamily("huiqian_open_tasks", "Open user tasks.", labels=labels)
    overdue = GaugeMetricFamily(
        "huiqian_open_tasks_overdue", "Open user tasks past their due date.", labels=labels
    )
    oldest = GaugeMetricFamily(
        "huiqian_open_task_oldest_age_seconds", "Age of the oldest open task.", labels=labels
    )
    ages = GaugeHistogramMetricFamily(
        "huiqian_open_task_age_seconds",
        "Ages of the open tasks (gsum/gcount is the mean age).",
        labels=labels,
    )
    now_epoch = now.timestamp()
    for jurisdiction, dept, total, late, first, created_sum, *older in session.execute(query):
        key = [jurisdiction, dept]
        count.add_metric(key, total)
        overdue.add_metric(key, late or 0)
        oldest.add_metric(key, max((now - first).total_seconds(), 0.0))
        # Bucket ``le=b`` counts tasks at most b old: all of them minus those older than b.
        cumulative = [
            (str(float(b)), total - (n or 0)) for b, n in zip(TASK_AGE_BUCKETS, older, strict=True)
        ]
        ages.add_metric(key, [*cumulative, ("+Inf", total)], total * now_epoch - float(created_sum))
    yield from (count, overdue, oldest, ages)


def _jobs(session: Session, now: datetime) -> Iterator[Metric]:
    unfinished = Job.state.in_(("pending", "failed"))
    yield _gauge(
        "huiqian_jobs",
        "Pending and failed jobs by kind.",
        ["kind", "state"],
        session.execute(
            select(Job.kind, Job.state, func.count())
            .where(unfinished)
            .group_by(Job.kind, Job.state)
        ),
    )
    lag = GaugeMetricFamily(
        "huiqian_job_lag_seconds",
        "How long the oldest due pending job of each kind has been waiting (0: none is due).",
        labels=["kind"],
    )
    query = select(Job.kind, func.min(Job.due_at)).where(Job.state == "pending").group_by(Job.kind)
    for kind, oldest_due in session.execute(query):
        lag.add_metric([kind], max((now - oldest_due).total_seconds(), 0.0))
    yield lag


def _incidents_and_deliveries(session: Session) -> Iterator[Metric]:
    open_incidents = session.scalar(
        select(func.count()).select_from(Incident).where(Incident.resolved_at.is_(None))
    )
    incidents = GaugeMetricFamily("huiqian_incidents_open", "Incidents waiting for a retry.")
    incidents.add_metric([], open_incidents or 0)
    yield incidents
    yield _gauge(
        "huiqian_webhook_deliveries",
        "Webhook deliveries by state.",
        ["state"],
        session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)),
    )


class DatabaseCollector:
    """The gauges read from the database at scrape time."""

    def __init__(self, session: Session, now: datetime, sqlite: bool) -> None:
        self.session, self.now, self.sqlite = session, now, sqlite

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("huiqian_database_up", "1 when the database answered the scrape.")
        try:
            families = [
                *_instances(self.session),
                *_open_tasks(self.session, self.now, self.sqlite),
                *_jobs(self.session, self.now),
                *_incidents_and_deliveries(self.session),
            ]
        except Exception:  # noqa: BLE001 - a scrape must still answer when the database cannot
            current_app.logger.exception("metrics: the database did not answer")
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families


class _ProcessMetrics:
    """This process's own metrics (request latency) when not in multiprocess mode."""

    def collect(self) -> Iterator[Metric]:
        yield from _process_registry.collect()


# --- the endpoint --------------------------------------------------------------------------


def _authorize() -> None:
    expected = current_app.config.get(TOKEN_SETTING) or os.environ.get(TOKEN_SETTING)
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    if (
        expected
        and scheme.lower() == "bearer"
        and hmac.compare_digest(offered.strip().encode(), expected.encode())
    ):
        return
    if not current_principal().is_admin:
        raise Forbidden(f"metrics are for admins and the {TOKEN_SETTING} bearer")


def metrics() -> Response:
    """``GET /metrics``: Prometheus text format."""
    _authorize()
    ctx = engine_context()
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics())
    with ctx.db.read_session() as session:
        registry.register(DatabaseCollector(session, ctx.clock(), ctx.db.is_sqlite))
        body = generate_latest(registry)
    return Response(body, content_type=CONTENT_TYPE_LATEST)


def prepare_multiprocess_dir(path: str | None) -> str:
    """The directory for multiprocess mode, emptied: files of an earlier run would count."""
    directory = Path(path) if path else Path(tempfile.mkdtemp(prefix="huiqian-metrics-"))
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return str(directory)


def register(app: Flask) -> None:
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
