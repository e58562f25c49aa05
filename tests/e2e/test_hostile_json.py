"""Hostile JSON bodies are answered with a 4xx problem, never a 500, on both databases."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from services.json_limits import MAX_DEPTH
from tests.api_helpers import TWO_LANE_KEY, TWO_LANES, problem

INSTANCES = "/api/v1/instances"


def _variables(raw: str) -> bytes:
    return f'{{"process_key": "{TWO_LANE_KEY}", "variables": {{"x": {raw}}}}}'.encode()


HOSTILE_VALUES = {
    "10,000 nested arrays": "[" * 10_000 + "]" * 10_000,
    "nested just past the limit": "[" * MAX_DEPTH + "]" * MAX_DEPTH,
    "10,000 nested objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "1e400": "1e400",
    "-1e400": "-1e400",
    "10**1000 as a literal": "1" + "0" * 1000,
    "10**5000 as a literal": "1" + "0" * 5000,
    "2**63": str(2**63),
    "NaN": "NaN",
    "Infinity": "Infinity",
    "-Infinity": "-Infinity",
    "lone surrogate": '"\\ud800"',
    "lone surrogate key": '{"\\udc00": 1}',
}


@pytest.mark.parametrize("raw", HOSTILE_VALUES.values(), ids=HOSTILE_VALUES.keys())
def test_hostile_numbers_and_nesting_are_400(client: FlaskClient, login, deploy, raw: str) -> None:
    deploy(TWO_LANES)
    response = client.post(
        INSTANCES,
        headers=login("baoji.hrss"),
        data=_variables(raw),
        content_type="application/json",
    )
    problem(response, 400, "bad-request")


def test_nesting_within_the_limit_is_accepted(client: FlaskClient, login, deploy) -> None:
    deploy(TWO_LANES)
    depth = MAX_DEPTH - 3  # the body's own object and "variables" take two levels
    body = _variables("[" * depth + "]" * depth)
    response = client.post(
        INSTANCES, headers=login("baoji.hrss"), data=body, content_type="application/json"
    )
    assert response.status_code == 201, response.get_data(as_text=True)


WRONG_TYPES = {
    "variables is a list": {"process_key": TWO_LANE_KEY, "variables": [1, 2]},
    "variables is a string": {"process_key": TWO_LANE_KEY, "variables": "x"},
    "process_key is a number": {"process_key": 7},
    "version is a string": {"process_key": TWO_LANE_KEY, "version": "one"},
    "unknown field": {"process_key": TWO_LANE_KEY, "admin": True},
    "body is a list": [1, 2, 3],
    "body is a number": 42,
    "body is null": None,
}


@pytest.mark.parametrize("body", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_wrong_types_are_422(client: FlaskClient, login, deploy, body) -> None:
    deploy(TWO_LANES)
    response = client.post(INSTANCES, headers=login("baoji.hrss"), json=body)
    problem(response, 422, "invalid-input")


@pytest.mark.parametrize(
    "raw",
    [b'{"data": ', b"\xff\xfe{}", b'{"data": {}} trailing', b"{'data': {}}"],
    ids=["truncated", "not utf-8", "trailing garbage", "single quotes"],
)
def test_malformed_bodies_are_400(client: FlaskClient, login, raw: bytes) -> None:
    response = client.post(
        "/api/v1/tasks/00000000-0000-0000-0000-000000000000/complete",
        headers=login("admin"),
        data=raw,
        content_type="application/json",
    )
    assert response.status_code in (400, 404), response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"


def test_hostile_login_body_is_400_not_500(client: FlaskClient) -> None:
    body = b'{"username": ' + b"[" * 10_000 + b"]" * 10_000 + b', "password": "x"}'
    response = client.post("/api/v1/auth/token", data=body, content_type="application/json")
    problem(response, 400, "bad-request")
