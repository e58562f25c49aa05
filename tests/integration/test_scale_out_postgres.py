"""Two API servers and two workers on one PostgreSQL give the same results as one of each.

The 19-department co-review of Qinghai (``bpmn/co_review.bpmn``, rule ``ratio:0.6``) is
started with ``due_working_days: 0``, so each department's task is due at once (the
workers announce 19 ``task.overdue`` and escalate the review), next to four ``timer_then_task`` instances whose
PT1S timers the workers fire (nobody runs jobs in the test process).  When the queue
is empty, every task is answered in a fixed order, the requests alternating between
the API servers.  The run on 2 × ``huiqian serve`` (two gunicorn workers each) with two
``huiqian worker`` processes must leave the database as the run on one server with one
worker does: instances, variables, task rows, audit trail, events and jobs.

The same run checks what only real processes show: readiness, request metrics summed
over gunicorn's workers (multiprocess mode), and JSON log lines from servers and workers.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import commands, consistency
from engine.db import Database
from engine.identity import SYSTEM
from engine.models import AuditEntry, Event, HumanTask, Instance, Job
from services.config import LIBRARY_DIR
from services.demo import seed_demo_users
from tests.api_helpers import dispose, make_app
from tests.conftest import DEMO_PASSWORD, FIXTURES, _migrated, _private_schema
from tests.processes import Service, Workers, huiqian_serve, stop_all

METRICS_TOKEN = "scale-out-scrape-token"
DEADLINE_SECONDS = 180
REJECTING = 4  # the first departments (by code) reject; the others approve
TIMED_INSTANCES = 4
TIMER_THEN_TASK = FIXTURES / "timer_then_task.bpmn"  # a PT1S timer, then an hrss task


def _prepare(url: str, data_dir: Path) -> None:
    app = make_app(url, data_dir)
    ctx = app.extensions["huiqian.engine"]
    seed_demo_users(ctx, DEMO_PASSWORD)
    for path in (LIBRARY_DIR / "co_review.bpmn", TIMER_THEN_TASK):
        commands.deploy(ctx, SYSTEM, path.read_bytes(), path.name)
    dispose(app)


def _waiting_jobs(db: Database) -> int:
    """Pending jobs due now or within the next seconds (the fixture's PT1S timers)."""
    with db.read_session() as s:
        return s.scalar(
            select(func.count())
            .select_from(Job)
            .where(Job.state == "pending", Job.due_at <= func.now() + timedelta(seconds=5))
        )


def _settle(db: Database) -> None:
    """Bounded wait until the workers have run every job that is or is about to be due."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while _waiting_jobs(db) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _waiting_jobs(db) == 0, "the workers did not empty the queue"


def _start(api: Service, key: str, business_key: str, variables: dict[str, Any]) -> None:
    body = {
        "process_key": key,
        "jurisdiction": "qinghai",
        "business_key": business_key,
        "variables": variables,
    }
    status, answer = api.request("POST", "/api/v1/instances", body, api.token("admin"))
    assert status == 201, answer


def _open_tasks(api: Service) -> list[dict[str, Any]]:
    path = "/api/v1/tasks?state=open&page_size=100"
    status, listed = api.request("GET", path, token=api.token("admin"))
    assert status == 200, listed
    return sorted(listed, key=lambda task: (task["process_key"], task["department"]))


def _drive(apis: list[Service], db: Database) -> None:
    """Start the processes, let the workers run the jobs, answer every task alternating servers."""
    variables = {"due_working_days": 0, "rule": "ratio:0.6", "subject": "青海拉面"}
    _start(apis[0], "co_review", "QH-2026-SCALE", variables)
    for number in range(TIMED_INSTANCES):
        _start(apis[number % len(apis)], "timer_then_task", f"QH-TIMER-{number}", {})
    _settle(db)
    listed = _open_tasks(apis[-1])
    assert len(listed) == 19 + TIMED_INSTANCES, listed
    reviews = 0
    for number, task in enumerate(listed):
        api = apis[number % len(apis)]
        officer = api.token(f"qinghai.{task['department']}")
        data: dict[str, Any] = {"decision": "approve"}
        if task["process_key"] == "co_review":
            if reviews < REJECTING:
                data = {"decision": "reject", "opinion": f"{task['department']}: 材料不全"}
            reviews += 1
        else:
            data = {}
        path = f"/api/v1/tasks/{task['id']}/complete"
        answer, body = api.request("POST", path, {"data": data}, officer)
        assert answer in (200, 409), body  # 409: the ratio was met and the task cancelled
    _settle(db)


def _sorted_lists(value: Any) -> Any:
    """Lists of departments come in task-id order, which differs between runs."""
    if isinstance(value, dict):
        return {key: _sorted_lists(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted((_sorted_lists(item) for item in value), key=json.dumps)
    return value


def _instance_outcome(s: Session, instance: Instance) -> dict[str, Any]:
    tasks = s.scalars(select(HumanTask).where(HumanTask.instance_id == instance.id))
    audit = s.scalars(select(AuditEntry).where(AuditEntry.instance_id == instance.id))
    return {
        "status": instance.status,
        "variables": _sorted_lists(
            {k: v for k, v in instance.variables.items() if k != "instance_id"}
        ),
        "tasks": sorted(
            (t.department, t.state, json.dumps(t.result, sort_keys=True), t.completed_by or "")
            for t in tasks
        ),
        "audit": sorted(
            (e.actor, e.action, json.dumps(_sorted_lists(e.details.get("departments"))))
            for e in audit
        ),
    }


def _outcome(db: Database) -> dict[str, Any]:
    """The state a run leaves, without ids and times (which differ between any two runs)."""
    with db.read_session() as s:
        return {
            "instances": {
                instance.business_key: _instance_outcome(s, instance)
                for instance in s.scalars(select(Instance))
            },
            "events": Counter(s.scalars(select(Event.type))),
            "jobs": Counter(tuple(row) for row in s.execute(select(Job.kind, Job.state))),
        }


def _run(
    url: str, data_dir: Path, servers: int, workers: int, logs: Path
) -> tuple[dict[str, Any], list[Any]]:
    """One run; returns its outcome and its (still running) servers, then workers."""
    _prepare(url, data_dir)
    db = Database(url)
    logs.mkdir()
    running: list[Any] = []
    try:
        apis = [
            Service(
                url,
                data_dir,
                huiqian_serve,
                stderr=(logs / f"api{n}.log").open("wb"),
                PROMETHEUS_MULTIPROC_DIR=str(logs / f"metrics{n}"),
                HUIQIAN_METRICS_TOKEN=METRICS_TOKEN,
            )
            for n in range(servers)
        ]
        running += apis
        running.append(Workers(workers, url, data_dir, stderr=(logs / "workers.log").open("wb")))
        _drive(apis, db)
        assert consistency.problems(db) == []
        return _outcome(db), running
    except BaseException:
        stop_all(running)
        raise
    finally:
        db.dispose()


@pytest.fixture
def second_postgres_schema_url() -> Iterator[str]:
    """Another private PostgreSQL database (``postgres_schema_url`` gives one per test)."""
    with _private_schema() as url:
        yield _migrated(url)


def _metric(text: str, name: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )


def _json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_two_servers_and_two_workers_give_the_result_of_one(
    postgres_schema_url: str, second_postgres_schema_url: str, tmp_path: Path
) -> None:
    single, running = _run(postgres_schema_url, tmp_path / "d1", 1, 1, tmp_path / "one")
    stop_all(running)
    scaled, running = _run(second_postgres_schema_url, tmp_path / "d2", 2, 2, tmp_path / "two")
    try:
        assert scaled == single
        review = scaled["instances"]["QH-2026-SCALE"]
        assert review["status"] == "completed" and review["variables"]["result"] == "approved"
        assert Counter(state for _d, state, _r, _c in review["tasks"]) == {
            "completed": 16,
            "cancelled": 3,
        }
        actions = {action for _a, action, _d in review["audit"]}
        # Due at once: escalated at once; a deadline under two working days sends no reminder.
        assert "escalate" in actions and "remind" not in actions
        assert scaled["events"]["task.overdue"] == 19
        timed = [scaled["instances"][f"QH-TIMER-{n}"] for n in range(TIMED_INSTANCES)]
        assert [(i["status"], i["variables"]["fired"]) for i in timed] == [("completed", 1)] * 4
        assert scaled["jobs"][("timer", "done")] == TIMED_INSTANCES

        # Request metrics of one server are the sum over its gunicorn workers.
        api = running[0]
        for _ in range(12):
            assert api.request("GET", "/api/v1/health/live")[0] == 200
        status, text = api.request(
            "GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
        )
        assert status == 200
        live = {"method": "GET", "endpoint": "/api/v1/health/live", "status": "200"}
        assert _metric(text, "huiqian_http_request_duration_seconds_count", **live) == 12
        assert _metric(text, "huiqian_instances", process="co_review", status="completed") == 1
    finally:
        stop_all(running)

    logs = tmp_path / "two"
    api_lines = _json_lines(logs / "api0.log")
    access = [line for line in api_lines if line["logger"] == "huiqian.access"]
    assert access and all(line["request_id"] for line in access)
    assert any(line.get("user", "").startswith("qinghai.") for line in access)
    assert any(line["logger"] == "gunicorn.error" for line in api_lines)
    worker_lines = _json_lines(logs / "workers.log")
    assert any(line["message"].startswith("worker running on") for line in worker_lines)
    everything = "".join(path.read_text() for path in logs.glob("*.log"))
    assert DEMO_PASSWORD not in everything
