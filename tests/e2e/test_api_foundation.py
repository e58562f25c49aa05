"""Acceptance tests of the Foundation issue, through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.db import Database
from engine.models import AuditEntry
from tests.api_helpers import (
    TWO_LANE_KEY,
    TWO_LANES,
    add_officer,
    complete,
    get_instance,
    history,
    ok,
    open_tasks,
    problem,
    start,
    tasks,
    the_open_task,
    token_headers,
)
from tests.conftest import DEMO_PASSWORD

Login = Callable[[str], dict[str, str]]
Deploy = Callable[..., dict[str, Any]]

V2_XML = (
    TWO_LANES.read_bytes()
    .replace("人社初审".encode(), "人社初审（第二版）".encode())
    .replace("财政复审".encode(), "财政复审（第二版）".encode())
)
OTHER_KEY_XML = TWO_LANES.read_bytes().replace(TWO_LANE_KEY.encode(), b"other_review")


@pytest.fixture
def login(login: Login) -> Login:
    """conftest's ``login``, once per user and test: each login costs an Argon2 verification."""
    return functools.cache(login)


@pytest.fixture
def two_lanes(deploy: Deploy) -> dict[str, Any]:
    return deploy(TWO_LANES)


def _started_in_baoji(client: FlaskClient, login: Login) -> tuple[dict[str, Any], dict[str, Any]]:
    """A running two-lane instance of baoji and its open hrss_review task."""
    instance = start(client, login("integrator"), jurisdiction="baoji")
    return instance, the_open_task(client, login("baoji.hrss"), instance["id"], "hrss_review")


# --- 1. the two-lane process end to end ---------------------------------------


def test_two_departments_complete_the_process_in_turn(
    client: FlaskClient, login: Login, deploy: Deploy
) -> None:
    deployed = deploy(TWO_LANES)
    assert deployed["key"] == TWO_LANE_KEY and deployed["version"] == 1
    assert deployed["name"] == "两部门审批"
    integrator, hrss, fin = login("integrator"), login("baoji.hrss"), login("baoji.fin")

    instance = start(client, integrator, jurisdiction="baoji", business_key="BJ-2025-001")
    assert instance["status"] == "running"
    assert open_tasks(client, fin) == []

    hrss_task = the_open_task(client, hrss, instance["id"], "hrss_review")
    assert hrss_task["name"] == "人社初审"
    assert (hrss_task["department"], hrss_task["assignee"]) == ("hrss", None)
    assert ok(complete(client, hrss, hrss_task["id"], {"opinion": "同意"}))["state"] == "completed"
    assert open_tasks(client, hrss) == []

    fin_task = the_open_task(client, fin, instance["id"], "fin_review")
    assert fin_task["name"] == "财政复审"
    ok(complete(client, fin, fin_task["id"], {"amount": 3000}))

    finished = get_instance(client, integrator, instance["id"])
    assert finished["status"] == "completed"
    assert finished["variables"]["opinion"] == "同意"
    assert finished["variables"]["amount"] == 3000
    steps = [
        (e["action"], e["actor"], e["task_id"]) for e in history(client, integrator, instance["id"])
    ]
    assert steps == [
        ("start", "integrator", None),
        ("complete", "baoji.hrss", hrss_task["id"]),
        ("complete", "baoji.fin", fin_task["id"]),
    ]


# --- 3. optimistic versions, claim and unclaim -----------------------------


def test_completing_with_a_stale_version_is_409_and_changes_nothing(
    client: FlaskClient, login: Login, two_lanes: dict[str, Any]
) -> None:
    hrss, admin = login("baoji.hrss"), login("admin")
    instance, task = _started_in_baoji(client, login)
    claimed = ok(client.post(f"/api/v1/tasks/{task['id']}/claim", headers=hrss))
    assert claimed["version"] == task["version"] + 1
    before = get_instance(client, admin, instance["id"])

    body = problem(complete(client, hrss, task["id"], version=task["version"]), 409, "conflict")
    assert body["current_version"] == claimed["version"]

    unchanged = ok(client.get(f"/api/v1/tasks/{task['id']}", headers=hrss))
    assert (unchanged["state"], unchanged["version"]) == ("open", claimed["version"])
    assert get_instance(client, admin, instance["id"])["version"] == before["version"]
    assert [e["action"] for e in history(client, admin, instance["id"])] == ["start", "claim"]
    assert open_tasks(client, login("baoji.fin")) == []
    ok(complete(client, hrss, task["id"], version=claimed["version"]))


def test_second_completion_of_same_task_is_409(
    client: FlaskClient, login: Login, two_lanes: dict[str, Any]
) -> None:
    hrss = login("baoji.hrss")
    instance, task = _started_in_baoji(client, login)
    ok(complete(client, hrss, task["id"]))
    body = problem(complete(client, hrss, task["id"]), 409, "conflict")
    assert body["task_state"] == "completed"
    assert len(open_tasks(client, login("baoji.fin"), instance_id=instance["id"])) == 1


def test_claim_reserves_the_task_for_the_claimer_within_the_department(
    app: Flask, client: FlaskClient, login: Login, two_lanes: dict[str, Any]
) -> None:
    add_officer(app, "baoji.hrss.deputy", "baoji", "hrss")
    claimer, deputy = login("baoji.hrss"), token_headers(client, "baoji.hrss.deputy")
    _instance, task = _started_in_baoji(client, login)
    url = f"/api/v1/tasks/{task['id']}"

    assert ok(client.post(f"{url}/claim", headers=claimer))["assignee"] == "baoji.hrss"
    assert [t["id"] for t in tasks(client, claimer, scope="mine")] == [task["id"]]
    assert tasks(client, deputy, scope="mine") == []
    problem(client.post(f"{url}/claim", headers=deputy), 409, "conflict")
    problem(complete(client, deputy, task["id"]), 403, "forbidden")
    problem(client.post(f"{url}/unclaim", headers=deputy), 403, "forbidden")
    assert ok(client.get(url, headers=deputy))["state"] == "open"

    assert ok(client.post(f"{url}/unclaim", headers=claimer))["assignee"] is None
    problem(client.post(f"{url}/unclaim", headers=claimer), 409, "conflict")
    assert ok(client.post(f"{url}/claim", headers=deputy))["assignee"] == "baoji.hrss.deputy"
    done = ok(complete(client, deputy, task["id"]))
    assert (done["state"], done["completed_by"]) == ("completed", "baoji.hrss.deputy")


# --- 5. versioning -----------------------------------------------------------


def test_identical_content_is_the_same_version_and_changed_content_a_new_one(
    client: FlaskClient, login: Login, deploy: Deploy
) -> None:
    first = deploy(TWO_LANES)
    again = client.post(
        "/api/v1/definitions",
        headers=login("designer"),
        data={"file": (BytesIO(TWO_LANES.read_bytes()), "copy.bpmn")},
        content_type="multipart/form-data",
    )
    assert again.status_code == 200
    assert again.get_json()["created"] is False
    assert (again.get_json()["id"], again.get_json()["version"]) == (first["id"], 1)

    second = deploy(V2_XML, "two_lanes.bpmn")
    assert (second["key"], second["version"], second["created"]) == (TWO_LANE_KEY, 2, True)
    assert second["id"] != first["id"]

    officer = login("baoji.hrss")
    listed = ok(
        client.get("/api/v1/definitions", headers=officer, query_string={"key": TWO_LANE_KEY})
    )
    assert [(d["id"], d["version"]) for d in listed] == [(second["id"], 2), (first["id"], 1)]
    assert ok(client.get(f"/api/v1/definitions/{first['id']}", headers=officer))["version"] == 1
    xml = client.get(f"/api/v1/definitions/{first['id']}/xml", headers=officer)
    assert xml.status_code == 200 and xml.data == TWO_LANES.read_bytes()
    problem(client.get("/api/v1/definitions/no-such-id", headers=officer), 404, "not-found")


def test_running_instance_stays_on_its_version_after_a_new_one_is_deployed(
    client: FlaskClient, login: Login, deploy: Deploy
) -> None:
    integrator, hrss, fin = login("integrator"), login("baoji.hrss"), login("baoji.fin")
    v1 = deploy(TWO_LANES)
    on_v1 = start(client, integrator, jurisdiction="baoji")
    v2 = deploy(V2_XML, "two_lanes.bpmn")

    ok(complete(client, hrss, the_open_task(client, hrss, on_v1["id"], "hrss_review")["id"]))
    fin_task = the_open_task(client, fin, on_v1["id"], "fin_review")
    assert fin_task["name"] == "财政复审"
    ok(complete(client, fin, fin_task["id"]))
    finished = get_instance(client, integrator, on_v1["id"])
    assert (finished["status"], finished["definition_id"]) == ("completed", v1["id"])

    latest = start(client, integrator, jurisdiction="baoji")
    older = start(client, integrator, jurisdiction="baoji", version=1)
    assert (latest["definition_id"], older["definition_id"]) == (v2["id"], v1["id"])
    assert the_open_task(client, hrss, latest["id"], "hrss_review")["name"] == "人社初审（第二版）"
    assert the_open_task(client, hrss, older["id"], "hrss_review")["name"] == "人社初审"
    problem(
        client.post(
            "/api/v1/instances",
            headers=integrator,
            json={"process_key": TWO_LANE_KEY, "version": 3, "jurisdiction": "baoji"},
        ),
        422,
        "invalid-input",
    )


# --- 6. who sees and acts on which task --------------------------------------

PROTECTED = [
    ("get", "/api/v1/me"),
    ("get", "/api/v1/definitions"),
    ("post", "/api/v1/definitions"),
    ("get", "/api/v1/definitions/some-id"),
    ("get", "/api/v1/definitions/some-id/xml"),
    ("get", "/api/v1/instances"),
    ("post", "/api/v1/instances"),
    ("get", "/api/v1/instances/some-id"),
    ("get", "/api/v1/instances/some-id/history"),
    ("post", "/api/v1/instances/some-id/terminate"),
    ("get", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/some-id"),
    ("post", "/api/v1/tasks/some-id/claim"),
    ("post", "/api/v1/tasks/some-id/unclaim"),
    ("post", "/api/v1/tasks/some-id/complete"),
    ("get", "/api/v1/jurisdictions"),
    ("get", "/api/v1/jurisdictions/baoji"),
    ("post", "/api/v1/decisions/some-key/evaluate"),
]


def test_every_protected_endpoint_answers_401_without_a_valid_token(client: FlaskClient) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic YWRtaW4="},
    ):
        for method, url in PROTECTED:
            response = getattr(client, method)(url, headers=headers, json={})
            assert response.status_code == 401, (headers, method, url, response.status_code)
            problem(response, 401, "unauthorized")


def test_another_department_can_neither_see_nor_act_on_a_task(
    client: FlaskClient, login: Login, two_lanes: dict[str, Any]
) -> None:
    _instance, task = _started_in_baoji(client, login)
    url = f"/api/v1/tasks/{task['id']}"
    for outsider in ("baoji.fin", "qinghai.hrss"):
        headers = login(outsider)
        assert task["id"] not in [t["id"] for t in tasks(client, headers)]
        assert tasks(client, headers, department="hrss") == []
        problem(client.get(url, headers=headers), 404, "not-found")
        problem(client.post(f"{url}/claim", headers=headers), 404, "not-found")
        problem(complete(client, headers, task["id"]), 404, "not-found")
    still = ok(client.get(url, headers=login("baoji.hrss")))
    assert (still["state"], still["assignee"], still["version"]) == ("open", None, task["version"])


def test_scope_all_is_refused_to_officers_and_shows_admins_every_task(
    client: FlaskClient, login: Login, two_lanes: dict[str, Any]
) -> None:
    _baoji, baoji_task = _started_in_baoji(client, login)
    qinghai = start(client, login("integrator"), jurisdiction="qinghai")
    problem(client.get("/api/v1/tasks?scope=all", headers=login("baoji.hrss")), 403, "forbidden")

    admin = login("admin")
    everything = tasks(client, admin, scope="all")
    assert {(t["jurisdiction"], t["instance_id"]) for t in everything} == {
        ("baoji", baoji_task["instance_id"]),
        ("qinghai", qinghai["id"]),
    }
    assert (
        ok(client.get(f"/api/v1/tasks/{baoji_task['id']}", headers=admin))["id"] == baoji_task["id"]
    )


# --- 8. the rest of the contract -------------------------------------------


def test_health_reports_the_database(client: FlaskClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_openapi_document_describes_the_api_and_docs_are_served(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = json.loads(response.data)
    assert "/api/v1/tasks/{task_id}/complete" in document["paths"]
    assert "post" in document["paths"]["/api/v1/definitions"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and docs.mimetype == "text/html"


def test_me_describes_the_caller(client: FlaskClient, login: Login) -> None:
    me = ok(client.get("/api/v1/me", headers=login("baoji.hrss")))
    assert {k: me[k] for k in ("username", "role", "jurisdiction", "department")} == {
        "username": "baoji.hrss",
        "role": "officer",
        "jurisdiction": "baoji",
        "department": "hrss",
    }
    assert "password_hash" not in me


def test_token_is_a_bearer_token_that_expires(client: FlaskClient) -> None:
    body = ok(
        client.post("/api/v1/auth/token", json={"username": "admin", "password": DEMO_PASSWORD})
    )
    assert body["token_type"] == "Bearer"
    assert body["access_token"] and body["expires_in"] > 0
    me = ok(client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"}))
    assert me["username"] == "admin"


def test_failed_login_is_401_and_recorded(client: FlaskClient, database: Database) -> None:
    for username in ("baoji.hrss", "nobody"):
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": "wrong-password"}
        )
        body = problem(response, 401, "unauthorized")
        assert "access_token" not in body
    with database.read_session() as s:
        failed = s.scalars(
            select(AuditEntry.actor)
            .where(AuditEntry.action == "login_failed")
            .order_by(AuditEntry.id)
        ).all()
    assert failed == ["baoji.hrss", "nobody"]


def test_terminate_cancels_open_tasks_and_only_once(
    client: FlaskClient, login: Login, two_lanes: dict[str, Any]
) -> None:
    hrss = login("baoji.hrss")
    instance = start(client, hrss, business_key="BJ-T-1")
    assert instance["jurisdiction"] == "baoji"
    task = the_open_task(client, hrss, instance["id"], "hrss_review")
    terminate = f"/api/v1/instances/{instance['id']}/terminate"

    problem(
        client.post(terminate, headers=login("baoji.fin"), json={"reason": "不是我的"}),
        403,
        "forbidden",
    )
    problem(client.post(terminate, headers=hrss, json={}), 422, "invalid-input")
    assert get_instance(client, hrss, instance["id"])["status"] == "running"

    ended = ok(client.post(terminate, headers=hrss, json={"reason": "申请人撤回"}))
    assert ended["status"] == "terminated" and ended["ended_at"]
    assert open_tasks(client, hrss) == []
    assert ok(client.get(f"/api/v1/tasks/{task['id']}", headers=hrss))["state"] == "cancelled"
    problem(complete(client, hrss, task["id"]), 409, "conflict")
    problem(client.post(terminate, headers=hrss, json={"reason": "again"}), 409, "conflict")
    last = history(client, hrss, instance["id"])[-1]
    assert (last["action"], last["actor"], last["details"]) == (
        "terminate",
        "baoji.hrss",
        {"reason": "申请人撤回"},
    )


def test_instances_list_filters_by_status_process_and_business_key(
    client: FlaskClient, login: Login, deploy: Deploy
) -> None:
    deploy(TWO_LANES)
    deploy(OTHER_KEY_XML, "other.bpmn")
    integrator = login("integrator")
    first = start(client, integrator, jurisdiction="baoji", business_key="BJ-1")
    second = start(client, integrator, jurisdiction="baoji", business_key="BJ-2")
    other = start(client, integrator, "other_review", jurisdiction="baoji", business_key="BJ-3")
    ok(
        client.post(
            f"/api/v1/instances/{second['id']}/terminate",
            headers=login("admin"),
            json={"reason": "x"},
        )
    )

    def ids(**query: Any) -> set[str]:
        return {
            i["id"]
            for i in ok(client.get("/api/v1/instances", headers=integrator, query_string=query))
        }

    assert ids() == {first["id"], second["id"], other["id"]}
    assert ids(status="running") == {first["id"], other["id"]}
    assert ids(status="terminated") == {second["id"]}
    assert ids(process_key="other_review") == {other["id"]}
    assert ids(process_key=TWO_LANE_KEY, status="running") == {first["id"]}
    assert ids(business_key="BJ-2") == {second["id"]}
    problem(
        client.get("/api/v1/instances?status=sleeping", headers=integrator), 422, "invalid-input"
    )

    page = client.get(
        "/api/v1/instances", headers=integrator, query_string={"page_size": 2, "page": 2}
    )
    assert len(page.get_json()) == 1
    assert json.loads(page.headers["X-Pagination"])["total"] == 3


def test_officers_list_and_read_only_their_jurisdictions_instances(
    client: FlaskClient, login: Login, two_lanes: dict[str, Any]
) -> None:
    designer = login("designer")
    baoji = start(client, designer, jurisdiction="baoji")
    qinghai = start(client, designer, jurisdiction="qinghai")
    for officer, own, foreign in (("baoji.hrss", baoji, qinghai), ("qinghai.csrc", qinghai, baoji)):
        headers = login(officer)
        listed = ok(client.get("/api/v1/instances", headers=headers))
        assert [i["id"] for i in listed] == [own["id"]]
        assert get_instance(client, headers, own["id"])["id"] == own["id"]
        problem(client.get(f"/api/v1/instances/{foreign['id']}", headers=headers), 404, "not-found")
        problem(
            client.get(f"/api/v1/instances/{foreign['id']}/history", headers=headers),
            404,
            "not-found",
        )
    problem(
        client.post(
            "/api/v1/instances",
            headers=login("baoji.hrss"),
            json={"process_key": TWO_LANE_KEY, "jurisdiction": "qinghai"},
        ),
        403,
        "forbidden",
    )


def test_start_with_unknown_process_jurisdiction_or_field_is_422(
    client: FlaskClient, login: Login, two_lanes: dict[str, Any]
) -> None:
    headers = login("designer")
    for body in (
        {"process_key": "no_such_process", "jurisdiction": "baoji"},
        {"process_key": TWO_LANE_KEY, "jurisdiction": "atlantis"},
        {"process_key": TWO_LANE_KEY, "jurisdiction": "baoji", "surprise": True},
    ):
        response = client.post("/api/v1/instances", headers=headers, json=body)
        assert response.status_code == 422, body
        problem(response, 422, "invalid-input")
    assert ok(client.get("/api/v1/instances", headers=headers)) == []
