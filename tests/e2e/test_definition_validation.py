"""POST /api/v1/definitions/validate: a deployment's checks without the deployment."""

from __future__ import annotations

from collections.abc import Callable
from io import BytesIO

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api_helpers import TWO_LANES, ok, problem
from tests.conftest import FIXTURES

NO_DEPARTMENT = (FIXTURES / "no_department.bpmn").read_bytes()


def validate(client: FlaskClient, headers: dict[str, str], content: bytes) -> TestResponse:
    return client.post(
        "/api/v1/definitions/validate",
        headers=headers,
        data={"file": (BytesIO(content), "draft.bpmn")},
        content_type="multipart/form-data",
    )


def test_valid_diagram_names_its_processes_and_deploys_nothing(
    client: FlaskClient, login: Callable[[str], dict[str, str]]
) -> None:
    designer = login("designer")
    body = ok(validate(client, designer, TWO_LANES.read_bytes()))
    assert body == {"valid": True, "kind": "bpmn", "keys": ["two_lane_review"]}
    assert ok(client.get("/api/v1/definitions", headers=designer)) == []


def test_user_task_without_department_is_rejected_on_its_element(
    client: FlaskClient, login: Callable[[str], dict[str, str]]
) -> None:
    body = problem(validate(client, login("designer"), NO_DEPARTMENT), 422, "invalid-definition")
    assert body["element_id"] == "review"
    assert body["line"] == 11
    assert "no department" in body["detail"]
