"""Every route × every role → the status the table says, with a real target behind each route.

The routes come from ``app.url_map``: a route added without a row in ``MATRIX`` fails
``test_every_route_has_a_row_in_the_matrix``, so nobody can add an endpoint without
deciding who may call it.  Targets belong to the Baoji ``hrss`` department; the other
roles probe them by id, so a row answering 200 where the table says 404 is an IDOR.
Requests that change their target (claim, complete, terminate, retry, messages) get a
fresh target per role.  List routes are also checked for what they leak: the target
shows up exactly for the roles that may see it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from engine.identity import SYSTEM
from engine.models import Event, Incident, Job, utcnow
from services import brands
from tests.api_helpers import TWO_LANES, ok, start, the_open_task, token_headers
from tests.conftest import DEMO_PASSWORD, FIXTURES
from webhooks.models import DELIVERED, Delivery

ROLES = (
    "anonymous",
    "officer",
    "other_department",
    "other_jurisdiction",
    "designer",
    "integrator",
    "admin",
)
USERS = {
    "officer": "baoji.hrss",
    "other_department": "baoji.fin",
    "other_jurisdiction": "qinghai.hrss",
    "designer": "designer",
    "integrator": "integrator",
    "admin": "admin",
}
# Served for browsers, not part of the API's authorization model.
UNGUARDED_ENDPOINTS = {"static", "api-docs.openapi_json", "api-docs.openapi_swagger_ui"}
DMN = Path(__file__).parents[2] / "bpmn" / "decisions" / "bj_absorption_award.dmn"

Send = Callable[[FlaskClient, str, dict[str, str], "World"], TestResponse]


def expect(anon: int, own: int, dept: int, jur: int, des: int, integ: int, admin: int) -> dict:
    return dict(zip(ROLES, (anon, own, dept, jur, des, integ, admin), strict=True))


PUBLIC = expect(200, 200, 200, 200, 200, 200, 200)
LOGGED_IN = expect(401, 200, 200, 200, 200, 200, 200)
OWN_JURISDICTION = expect(401, 200, 200, 404, 200, 200, 200)
OWN_DEPARTMENT = expect(401, 200, 404, 404, 404, 200, 200)
ACT_ON_TASK = expect(401, 200, 404, 404, 404, 403, 200)
ADMIN_ONLY = expect(401, 403, 403, 403, 403, 403, 200)
DEPLOYERS = expect(401, 403, 403, 403, 200, 403, 200)
WEBHOOK_MANAGERS = expect(401, 403, 403, 403, 403, 200, 200)
# A public address literal: passes the SSRF policy without a DNS lookup.
HOOK_URL = "https://8.8.8.8/huiqian-hook"


@dataclass
class World:
    """The targets, all of Baoji's hrss department."""

    app: Flask
    client: FlaskClient
    definition_id: str = ""
    instance_id: str = ""
    task_id: str = ""
    brand_id: str = ""
    incident_id: int = 0
    subscription_id: str = ""
    delivery_id: str = ""

    def admin(self) -> dict[str, str]:
        return token_headers(self.client, "admin")

    def running_instance(self) -> tuple[str, str]:
        """A new two-lane instance started by the admin, with its open hrss task."""
        admin = self.admin()
        instance = start(self.client, admin, jurisdiction="baoji")
        return instance["id"], the_open_task(self.client, admin, instance["id"], "hrss_review")[
            "id"
        ]

    def waiting_for_objection(self) -> str:
        instance = start(self.client, self.admin(), key="await_report", jurisdiction="baoji")
        return instance["id"]

    def failed_job_incident(self) -> int:
        with self.app.extensions["huiqian.engine"].db.write_session() as s:
            job = Job(kind="timer", instance_id=self.instance_id, due_at=utcnow(), state="failed")
            s.add(job)
            s.flush()
            incident = Incident(
                instance_id=self.instance_id, job_id=job.id, kind="timer", error="boom", attempts=5
            )
            s.add(incident)
            s.commit()
            return incident.id

    def subscription(self) -> str:
        body = {"url": HOOK_URL, "event_types": ["task.created"]}
        answer = self.client.post("/api/v1/webhooks/subscriptions", headers=self.admin(), json=body)
        return ok(answer, 201)["id"]

    def delivered(self) -> str:
        """A finished delivery of the subscription, as the delivery worker leaves it."""
        with self.app.extensions["huiqian.engine"].db.write_session() as s:
            event = Event(type="task.created", data={})
            s.add(event)
            s.flush()
            delivery = Delivery(
                message_id=f"msg_{event.id}",
                subscription_id=self.subscription_id,
                event_id=event.id,
                event_type=event.type,
                state=DELIVERED,
                created_at=utcnow(),
            )
            s.add(delivery)
            s.commit()
            return delivery.id


def _brand(app: Flask) -> str:
    with app.extensions["huiqian.engine"].db.write_session() as s:
        record = brands.nominate(
            brands.library(s),
            name="宝鸡面点师",
            jurisdiction="baoji",
            data={},
            actor=SYSTEM.username,
            instance_id=None,
        )
        s.commit()
        return record.id


@pytest.fixture
def world(app: Flask, client: FlaskClient, deploy: Callable[..., Any]) -> World:
    w = World(app, client)
    w.definition_id = deploy(TWO_LANES)["id"]
    deploy(FIXTURES / "messages.bpmn")
    deploy(DMN)
    w.instance_id, w.task_id = w.running_instance()
    w.brand_id = _brand(app)
    w.incident_id = w.failed_job_incident()
    w.subscription_id = w.subscription()
    w.delivery_id = w.delivered()
    return w


# --- how each row sends its request -------------------------------------------------------


def get(client: FlaskClient, path: str, headers: dict[str, str], _w: World) -> TestResponse:
    return client.get(path, headers=headers)


def post_json(body: dict[str, Any]) -> Send:
    def send(client: FlaskClient, path: str, headers: dict[str, str], _w: World) -> TestResponse:
        return client.post(path, headers=headers, json=body)

    return send


def upload(client: FlaskClient, path: str, headers: dict[str, str], _w: World) -> TestResponse:
    data = {"file": (BytesIO(TWO_LANES.read_bytes()), TWO_LANES.name)}
    return client.post(path, headers=headers, data=data, content_type="multipart/form-data")


def object_to_fresh_instance(
    client: FlaskClient, path: str, headers: dict[str, str], w: World
) -> TestResponse:
    body = {"name": "objection", "correlation": {"instance_id": w.waiting_for_objection()}}
    return client.post(path, headers=headers, json=body)


@dataclass(frozen=True)
class Row:
    """``fresh``: the path's targets are made anew for each role (the request changes them).

    ``lists``: the list answer must contain the target (this attribute of ``World``)
    exactly for the roles whose expected status for the single target is 200.
    """

    expected: dict[str, int]
    send: Send = get
    fresh: Callable[[World], dict[str, Any]] | None = None
    lists: tuple[str, Callable[[dict[str, int]], set[str]]] | None = None


def fresh_task(w: World) -> dict[str, Any]:
    instance_id, task_id = w.running_instance()
    return {"instance_id": instance_id, "task_id": task_id}


def fresh_claimed_task(w: World) -> dict[str, Any]:
    target = fresh_task(w)
    owner = token_headers(w.client, USERS["officer"])
    ok(w.client.post(f"/api/v1/tasks/{target['task_id']}/claim", headers=owner, json={}))
    return target


def fresh_incident(w: World) -> dict[str, Any]:
    return {"incident_id": w.failed_job_incident()}


def fresh_subscription(w: World) -> dict[str, Any]:
    return {"subscription_id": w.subscription()}


def patch_json(body: dict[str, Any]) -> Send:
    def send(client: FlaskClient, path: str, headers: dict[str, str], _w: World) -> TestResponse:
        return client.patch(path, headers=headers, json=body)

    return send


def delete(client: FlaskClient, path: str, headers: dict[str, str], _w: World) -> TestResponse:
    return client.delete(path, headers=headers)


def seeing(expected: dict[str, int]) -> set[str]:
    return {role for role, status in expected.items() if status == 200}


MATRIX: dict[tuple[str, str], Row] = {
    ("/api/v1/health", "GET"): Row(PUBLIC),
    ("/api/v1/auth/token", "POST"): Row(
        PUBLIC, post_json({"username": "admin", "password": DEMO_PASSWORD})
    ),
    ("/api/v1/auth/revoke", "POST"): Row(expect(401, 204, 204, 204, 204, 204, 204), post_json({})),
    ("/api/v1/me", "GET"): Row(LOGGED_IN),
    ("/api/v1/definitions", "GET"): Row(LOGGED_IN),
    ("/api/v1/definitions", "POST"): Row(DEPLOYERS, upload),
    ("/api/v1/definitions/<definition_id>", "GET"): Row(LOGGED_IN),
    ("/api/v1/definitions/<definition_id>/xml", "GET"): Row(LOGGED_IN),
    ("/api/v1/instances", "GET"): Row(
        LOGGED_IN, lists=("instance_id", lambda _: seeing(OWN_JURISDICTION))
    ),
    # Anyone logged in may start a process; officers only in their own jurisdiction.
    ("/api/v1/instances", "POST"): Row(
        expect(401, 201, 201, 201, 201, 201, 201),
        post_json({"process_key": "two_lane_review", "variables": {}}),
    ),
    ("/api/v1/instances/<instance_id>", "GET"): Row(OWN_JURISDICTION),
    ("/api/v1/instances/<instance_id>/history", "GET"): Row(OWN_JURISDICTION),
    # The admin started it: officers of its jurisdiction see it but may not end it.
    ("/api/v1/instances/<instance_id>/terminate", "POST"): Row(
        expect(401, 403, 403, 404, 403, 403, 200), post_json({"reason": "test"}), fresh_task
    ),
    ("/api/v1/tasks", "GET"): Row(LOGGED_IN, lists=("task_id", lambda _: seeing(OWN_DEPARTMENT))),
    ("/api/v1/tasks/<task_id>", "GET"): Row(OWN_DEPARTMENT),
    ("/api/v1/tasks/<task_id>/claim", "POST"): Row(ACT_ON_TASK, post_json({}), fresh_task),
    # Claimed by the owning officer; the admin may release anyone's claim.
    ("/api/v1/tasks/<task_id>/unclaim", "POST"): Row(
        ACT_ON_TASK, post_json({}), fresh_claimed_task
    ),
    ("/api/v1/tasks/<task_id>/complete", "POST"): Row(
        ACT_ON_TASK, post_json({"data": {}}), fresh_task
    ),
    ("/api/v1/jurisdictions", "GET"): Row(LOGGED_IN),
    ("/api/v1/jurisdictions/<jurisdiction_id>", "GET"): Row(LOGGED_IN),
    ("/api/v1/decisions/<key>/evaluate", "POST"): Row(
        LOGGED_IN, post_json({"variables": {"signed_workers": 600, "county_rule_amount": 1000}})
    ),
    # A message reaches only instances the sender may see.
    ("/api/v1/messages", "POST"): Row(OWN_JURISDICTION, object_to_fresh_instance),
    ("/api/v1/brands", "GET"): Row(
        LOGGED_IN, lists=("brand_id", lambda _: seeing(OWN_JURISDICTION))
    ),
    ("/api/v1/brands/<brand_id>", "GET"): Row(OWN_JURISDICTION),
    ("/api/v1/incidents", "GET"): Row(
        ADMIN_ONLY, lists=("incident_id", lambda _: seeing(ADMIN_ONLY))
    ),
    ("/api/v1/incidents/<int:incident_id>", "GET"): Row(ADMIN_ONLY),
    ("/api/v1/incidents/<int:incident_id>/retry", "POST"): Row(
        ADMIN_ONLY, post_json({}), fresh_incident
    ),
    ("/api/v1/webhooks/subscriptions", "GET"): Row(
        WEBHOOK_MANAGERS, lists=("subscription_id", lambda _: seeing(WEBHOOK_MANAGERS))
    ),
    ("/api/v1/webhooks/subscriptions", "POST"): Row(
        expect(401, 403, 403, 403, 403, 201, 201),
        post_json({"url": HOOK_URL, "event_types": ["task.completed"]}),
    ),
    ("/api/v1/webhooks/subscriptions/<subscription_id>", "GET"): Row(WEBHOOK_MANAGERS),
    ("/api/v1/webhooks/subscriptions/<subscription_id>", "PATCH"): Row(
        WEBHOOK_MANAGERS,
        patch_json({"url": HOOK_URL, "event_types": ["task.created"], "enabled": False}),
        fresh_subscription,
    ),
    ("/api/v1/webhooks/subscriptions/<subscription_id>", "DELETE"): Row(
        expect(401, 403, 403, 403, 403, 204, 204), delete, fresh_subscription
    ),
    ("/api/v1/webhooks/subscriptions/<subscription_id>/rotate-secret", "POST"): Row(
        WEBHOOK_MANAGERS, post_json({}), fresh_subscription
    ),
    ("/api/v1/webhooks/subscriptions/<subscription_id>/deliveries", "GET"): Row(WEBHOOK_MANAGERS),
    ("/api/v1/webhooks/deliveries/<delivery_id>/redeliver", "POST"): Row(
        expect(401, 403, 403, 403, 403, 202, 202), post_json({})
    ),
}


def _guarded_routes(app: Flask) -> dict[tuple[str, str], Rule]:
    return {
        (rule.rule, method): rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNGUARDED_ENDPOINTS
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    }


def _path(app: Flask, rule: Rule, w: World, overrides: dict[str, Any]) -> str:
    values = {
        "definition_id": w.definition_id,
        "instance_id": w.instance_id,
        "task_id": w.task_id,
        "brand_id": w.brand_id,
        "incident_id": w.incident_id,
        "subscription_id": w.subscription_id,
        "delivery_id": w.delivery_id,
        "jurisdiction_id": "baoji",
        "key": "bj_absorption_award",
        **overrides,
    }
    with app.test_request_context():
        adapter = app.url_map.bind("localhost")
        return adapter.build(rule.endpoint, {name: values[name] for name in rule.arguments})


def _status_class(status: int) -> int:
    """201 and 200 are the same answer to "may this role do it"."""
    return 200 if status in (200, 201, 202, 204) else status


def test_every_route_has_a_row_in_the_matrix(app: Flask) -> None:
    routes = set(_guarded_routes(app))
    assert sorted(routes - set(MATRIX)) == [], "add these routes to MATRIX with their roles"
    assert sorted(set(MATRIX) - routes) == [], "these MATRIX rows name no route any more"


def test_each_role_gets_the_status_the_matrix_gives(app: Flask, world: World) -> None:
    client = world.client
    wrong: list[str] = []
    for (path_rule, method), rule in sorted(_guarded_routes(app).items()):
        row = MATRIX[(path_rule, method)]
        for role in ROLES:
            target = row.fresh(world) if row.fresh else {}
            path = _path(app, rule, world, target) + ("?page_size=100" if row.lists else "")
            headers = {} if role == "anonymous" else token_headers(client, USERS[role])
            response = row.send(client, path, headers, world)
            want = row.expected[role]
            if response.status_code != want and not (
                want in (200, 201, 202, 204) and _status_class(response.status_code) == 200
            ):
                wrong.append(
                    f"{method} {path_rule} as {role}: {response.status_code}, expected {want}"
                    f" ({response.get_data(as_text=True)[:160]})"
                )
                continue
            if row.lists and response.status_code == 200:
                attribute, who_sees = row.lists
                listed = {str(item["id"]) for item in response.get_json()}
                visible = str(getattr(world, attribute)) in listed
                if visible != (role in who_sees(row.expected)):
                    wrong.append(f"{method} {path_rule} as {role}: target listed={visible}")
    assert not wrong, "\n".join(wrong)


def test_officer_cannot_reach_a_task_by_guessing_its_id(world: World) -> None:
    """The same 404 for another department's task and for a task that does not exist."""
    client = world.client
    stranger = token_headers(client, USERS["other_department"])
    known = client.get(f"/api/v1/tasks/{world.task_id}", headers=stranger)
    unknown = client.get("/api/v1/tasks/00000000-0000-0000-0000-000000000000", headers=stranger)
    assert known.status_code == unknown.status_code == 404
    assert set(known.get_json()) == set(unknown.get_json())


def test_expired_token_is_401(app: Flask, client: FlaskClient) -> None:
    headers = token_headers(client, "admin")
    app.config["HUIQIAN_TOKEN_TTL_SECONDS"] = -1
    expired = token_headers(client, "admin")
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.get("/api/v1/me", headers=expired).status_code == 401
