"""HTTP helpers shared by the end-to-end and integration tests of the REST API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.identity import Role, create_user
from services.app import create_app
from tests.conftest import DEMO_PASSWORD, FIXTURES

PROBLEM_BASE = "https://huiqian.dev/problems/"
TWO_LANES = FIXTURES / "two_lanes.bpmn"
TWO_LANE_KEY = "two_lane_review"


def make_app(database_url: str, data_dir: Path) -> Flask:
    """A brand-new application (own engine context, empty spec cache) on an existing database."""
    return create_app(
        {"TESTING": True, "HUIQIAN_DATA_DIR": data_dir, "HUIQIAN_DATABASE_URL": database_url}
    )


def dispose(app: Flask) -> None:
    app.extensions["huiqian.engine"].db.dispose()


def add_officer(app: Flask, username: str, jurisdiction: str, department: str) -> None:
    with app.extensions["huiqian.engine"].db.write_session() as s:
        create_user(
            s,
            username=username,
            password=DEMO_PASSWORD,
            role=Role.OFFICER,
            jurisdiction=jurisdiction,
            department=department,
        )
        s.commit()


def token_headers(client: FlaskClient, username: str) -> dict[str, str]:
    body = ok(
        client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    )
    return {"Authorization": f"Bearer {body['access_token']}"}


def ok(response: TestResponse, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def problem(response: TestResponse, status: int, slug: str) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status and ``type`` slug; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"] == PROBLEM_BASE + slug
    assert body["status"] == status
    assert body["title"]
    assert isinstance(body["detail"], str)
    return body


def start(
    client: FlaskClient, headers: dict[str, str], key: str = TWO_LANE_KEY, **body: Any
) -> dict[str, Any]:
    body.setdefault("variables", {})
    return ok(
        client.post("/api/v1/instances", headers=headers, json={"process_key": key, **body}), 201
    )


def get_instance(client: FlaskClient, headers: dict[str, str], instance_id: str) -> dict[str, Any]:
    return ok(client.get(f"/api/v1/instances/{instance_id}", headers=headers))


def history(client: FlaskClient, headers: dict[str, str], instance_id: str) -> list[dict[str, Any]]:
    return ok(client.get(f"/api/v1/instances/{instance_id}/history", headers=headers))


def tasks(client: FlaskClient, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    return ok(client.get("/api/v1/tasks", headers=headers, query_string=query))


def open_tasks(client: FlaskClient, headers: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    return tasks(client, headers, state="open", **query)


def the_open_task(
    client: FlaskClient, headers: dict[str, str], instance_id: str, bpmn_id: str
) -> dict[str, Any]:
    """The single open task ``bpmn_id`` of an instance, as ``headers``' user sees it."""
    found = [
        t for t in open_tasks(client, headers, instance_id=instance_id) if t["bpmn_id"] == bpmn_id
    ]
    assert len(found) == 1, found
    return found[0]


def complete(
    client: FlaskClient,
    headers: dict[str, str],
    task_id: str,
    data: dict[str, Any] | None = None,
    version: int | None = None,
) -> TestResponse:
    body: dict[str, Any] = {"data": data or {}}
    if version is not None:
        body["version"] = version
    return client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json=body)
