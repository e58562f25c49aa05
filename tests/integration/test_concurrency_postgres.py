"""Two officers' clicks on "complete" at the same moment: exactly one wins.

Two independent services (two ``create_app`` on one database, as two gunicorn workers would
be) each get one of the requests; a barrier releases both at once so they really overlap.
PostgreSQL serialises them with ``SELECT … FOR UPDATE``, SQLite with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.db import Database
from services import migrations
from services.demo import seed_demo_users
from tests.api_helpers import (
    TWO_LANES,
    complete,
    dispose,
    get_instance,
    history,
    make_app,
    ok,
    problem,
    start,
    tasks,
    the_open_task,
    token_headers,
)
from tests.conftest import DEMO_PASSWORD

RACES = 10
# Only a guard against a deadlocked test run; the race itself never waits on a clock.
BARRIER_GUARD_SECONDS = 30


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'race.sqlite3'}"


def _two_services(url: str, tmp_path: Path) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    database = Database(url)
    migrations.upgrade(database)
    database.dispose()
    apps = [make_app(url, tmp_path / name) for name in ("worker_a", "worker_b")]
    seed_demo_users(apps[0].extensions["huiqian.engine"], DEMO_PASSWORD)
    try:
        yield apps[0].test_client(), apps[1].test_client()
    finally:
        for app in apps:
            dispose(app)


@pytest.fixture
def services_on_postgres(
    postgres_schema_url: str, tmp_path: Path
) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    yield from _two_services(postgres_schema_url, tmp_path)


@pytest.fixture
def services_on_sqlite(
    sqlite_url: str, tmp_path: Path
) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    yield from _two_services(sqlite_url, tmp_path)


def _race(
    clients: tuple[FlaskClient, FlaskClient], headers: dict[str, str], task_id: str
) -> list[tuple[int, dict[str, Any], dict[str, Any]]]:
    """Both services complete ``task_id`` at once; (status, body, data sent) per request."""
    barrier = threading.Barrier(len(clients), timeout=BARRIER_GUARD_SECONDS)

    def attempt(
        client: FlaskClient, data: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, Any]]:
        barrier.wait()
        response = complete(client, headers, task_id, data)
        if response.status_code == 409:
            problem(response, 409, "conflict")
        return response.status_code, response.get_json(), data

    with ThreadPoolExecutor(max_workers=len(clients)) as pool:
        futures = [
            pool.submit(attempt, client, {"worker": name})
            for client, name in zip(clients, ("a", "b"), strict=True)
        ]
        return sorted((future.result() for future in futures), key=lambda outcome: outcome[0])


def _exactly_one_completion_wins(clients: tuple[FlaskClient, FlaskClient]) -> None:
    first, second = clients
    designer = token_headers(first, "designer")
    ok(
        first.post(
            "/api/v1/definitions",
            headers=designer,
            data={"file": (BytesIO(TWO_LANES.read_bytes()), TWO_LANES.name)},
            content_type="multipart/form-data",
        ),
        201,
    )
    hrss, admin = token_headers(first, "baoji.hrss"), token_headers(second, "admin")

    for _ in range(RACES):
        instance = start(first, designer, jurisdiction="baoji")
        task = the_open_task(first, hrss, instance["id"], "hrss_review")
        version_before = get_instance(first, admin, instance["id"])["version"]

        (won, body, winner_data), (lost, _, _) = _race(clients, hrss, task["id"])

        assert (won, lost) == (200, 409)
        assert body["result"] == winner_data
        rows = tasks(second, admin, scope="all", instance_id=instance["id"])
        assert sorted((t["bpmn_id"], t["state"]) for t in rows) == [
            ("fin_review", "open"),
            ("hrss_review", "completed"),
        ]
        assert get_instance(second, admin, instance["id"])["version"] == version_before + 1
        completions = [
            e for e in history(second, admin, instance["id"]) if e["action"] == "complete"
        ]
        assert [(e["task_id"], e["details"]["data"]) for e in completions] == [
            (task["id"], winner_data)
        ]


def test_concurrent_completions_on_postgres_exactly_one_wins(
    services_on_postgres: tuple[FlaskClient, FlaskClient],
) -> None:
    _exactly_one_completion_wins(services_on_postgres)


def test_concurrent_completions_on_sqlite_exactly_one_wins(
    services_on_sqlite: tuple[FlaskClient, FlaskClient],
) -> None:
    _exactly_one_completion_wins(services_on_sqlite)
