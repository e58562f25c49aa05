"""An instance survives a service restart between any two of its steps.

Every step runs on a brand-new application built by ``create_app`` on the same database:
a new engine context, an empty spec cache, nothing kept in memory from the step before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.db import Database
from services.demo import seed_demo_users
from tests.api_helpers import (
    TWO_LANES,
    complete,
    dispose,
    get_instance,
    history,
    make_app,
    ok,
    start,
    the_open_task,
    token_headers,
)
from tests.conftest import DEMO_PASSWORD


@pytest.fixture
def restart(database: Database, tmp_path: Path) -> Iterator[Callable[[], FlaskClient]]:
    """``restart()`` shuts the running service down and returns a client of a fresh one."""
    apps: list[Flask] = []

    def fresh() -> FlaskClient:
        if apps:
            dispose(apps[-1])
        app = make_app(database.url, tmp_path / f"data{len(apps)}")
        if not apps:
            seed_demo_users(app.extensions["huiqian.engine"], DEMO_PASSWORD)
        apps.append(app)
        return app.test_client()

    yield fresh
    dispose(apps[-1])


def test_instance_continues_across_a_restart_between_every_step(
    restart: Callable[[], FlaskClient],
) -> None:
    client = restart()
    designer = token_headers(client, "designer")
    deployed = ok(
        client.post(
            "/api/v1/definitions",
            headers=designer,
            data={"file": (BytesIO(TWO_LANES.read_bytes()), TWO_LANES.name)},
            content_type="multipart/form-data",
        ),
        201,
    )

    client = restart()
    instance = start(client, designer, jurisdiction="baoji")
    assert instance["definition_id"] == deployed["id"]

    client = restart()
    hrss = token_headers(client, "baoji.hrss")

    client = restart()
    hrss_task = the_open_task(client, hrss, instance["id"], "hrss_review")

    client = restart()
    ok(complete(client, hrss, hrss_task["id"], {"opinion": "同意"}))

    client = restart()
    fin = token_headers(client, "baoji.fin")
    fin_task = the_open_task(client, fin, instance["id"], "fin_review")
    assert get_instance(client, designer, instance["id"])["status"] == "running"

    client = restart()
    ok(complete(client, fin, fin_task["id"]))

    client = restart()
    finished = get_instance(client, designer, instance["id"])
    assert finished["status"] == "completed"
    assert finished["variables"]["opinion"] == "同意"
    assert [(e["action"], e["actor"]) for e in history(client, designer, instance["id"])] == [
        ("start", "designer"),
        ("complete", "baoji.hrss"),
        ("complete", "baoji.fin"),
    ]
