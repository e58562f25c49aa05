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
from services.ui.core import registry as ui_registry
from tests.api_helpers import TWO_LANES, complete, ok, start, the_open_task, token_headers
from tests.conftest import DEMO_PASSWORD, FIXTURES
from tests.ui_helpers import csrf_token, sign_in
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
CO_REVIEW = Path(__file__).parents[2] / "bpmn" / "co_review.bpmn"
PROXY = {
    "proxy": "baoji.agri",
    "starts_at": "2099-01-01T00:00:00+08:00",
    "ends_at": "2099-02-01T00:00:00+08:00",
}


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
    repair_target: str = ""  # migrated, then modified, by the admin only
    proxy_id: str = ""

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

    def co_review(self) -> str:
        """A Baoji co-review of hrss, fin and agri started by the admin (hrss leads Baoji)."""
        variables = {"departments": ["hrss", "fin", "agri"]}
        instance = start(
            self.client, self.admin(), key="co_review", jurisdiction="baoji", variables=variables
        )
        return instance["id"]

    def officer_did_hrss_step(self) -> tuple[str, str]:
        """A two-lane instance whose hrss task the officer completed; its fin task is open."""
        instance_id, hrss_task = self.running_instance()
        officer = token_headers(self.client, USERS["officer"])
        ok(complete(self.client, officer, hrss_task))
        return hrss_task, the_open_task(self.client, self.admin(), instance_id, "fin_review")["id"]

    def proxy(self) -> str:
        """The officer's proxy, baoji.agri, for a period in the future."""
        officer = token_headers(self.client, USERS["officer"])
        return ok(self.client.post("/api/v1/proxies", headers=officer, json=PROXY), 201)["id"]


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
    deploy(CO_REVIEW)
    w.proxy_id = w.proxy()
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


def instance_on_version_1(w: World) -> dict[str, Any]:
    """A two-lane instance on version 1 while version 2 (a comment added) exists.

    One for the whole row: only the admin, the last role, changes it.
    """
    if not w.repair_target:
        data = {"file": (BytesIO(TWO_LANES.read_bytes() + b"<!-- v2 -->"), TWO_LANES.name)}
        designer = token_headers(w.client, "designer")
        w.client.post("/api/v1/definitions", headers=designer, data=data)
        w.repair_target = start(w.client, w.admin(), jurisdiction="baoji", version=1)["id"]
    return {"instance_id": w.repair_target}


def fresh_co_review(w: World) -> dict[str, Any]:
    return {"instance_id": w.co_review()}


def fresh_delegated_task(w: World) -> dict[str, Any]:
    """An hrss task the officer delegated to the fin officer (the other department)."""
    target = fresh_task(w)
    owner = token_headers(w.client, USERS["officer"])
    path = f"/api/v1/tasks/{target['task_id']}/delegate"
    ok(w.client.post(path, headers=owner, json={"to_user": USERS["other_department"]}))
    return target


def fresh_completed_task(w: World) -> dict[str, Any]:
    """The hrss task the officer completed, with the next step still untouched."""
    return {"task_id": w.officer_did_hrss_step()[0]}


def fresh_next_task(w: World) -> dict[str, Any]:
    """The open fin task after the hrss task the officer completed (fin's, not hrss's)."""
    return {"task_id": w.officer_did_hrss_step()[1]}


def fresh_proxy(w: World) -> dict[str, Any]:
    return {"proxy_id": w.proxy()}


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
    ("/api/v1/health/live", "GET"): Row(PUBLIC),
    ("/api/v1/health/ready", "GET"): Row(PUBLIC),
    # Prometheus scrapes with HUIQIAN_METRICS_TOKEN; of the users, only admins.
    ("/metrics", "GET"): Row(ADMIN_ONLY),
    ("/api/v1/auth/token", "POST"): Row(
        PUBLIC, post_json({"username": "admin", "password": DEMO_PASSWORD})
    ),
    ("/api/v1/auth/revoke", "POST"): Row(expect(401, 204, 204, 204, 204, 204, 204), post_json({})),
    ("/api/v1/me", "GET"): Row(LOGGED_IN),
    ("/api/v1/definitions", "GET"): Row(LOGGED_IN),
    ("/api/v1/definitions", "POST"): Row(DEPLOYERS, upload),
    ("/api/v1/definitions/validate", "POST"): Row(DEPLOYERS, upload),
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
    ("/api/v1/instances/<instance_id>/migrate", "POST"): Row(
        ADMIN_ONLY, post_json({"to_version": 2}), instance_on_version_1
    ),
    ("/api/v1/instances/<instance_id>/modify", "POST"): Row(
        ADMIN_ONLY,
        post_json({"cancel": ["hrss_review"], "start_before": "fin_review"}),
        instance_on_version_1,
    ),
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
    # Approval operations: whoever may act on the task, unless the row says otherwise.
    ("/api/v1/tasks/<task_id>/transfer", "POST"): Row(
        ACT_ON_TASK, post_json({"to_department": "fin"}), fresh_task
    ),
    ("/api/v1/tasks/<task_id>/delegate", "POST"): Row(
        ACT_ON_TASK, post_json({"to_user": "baoji.agri"}), fresh_task
    ),
    # Delegated by the officer to the fin officer: only the delegate (or an admin) resolves.
    ("/api/v1/tasks/<task_id>/resolve", "POST"): Row(
        expect(401, 403, 200, 404, 404, 403, 200), post_json({}), fresh_delegated_task
    ),
    # The open fin task after the officer's hrss step: fin returns it to hrss.
    ("/api/v1/tasks/<task_id>/return", "POST"): Row(
        expect(401, 404, 200, 404, 404, 403, 200),
        post_json({"to_element": "hrss_review", "opinion": "请补正材料"}),
        fresh_next_task,
    ),
    ("/api/v1/tasks/<task_id>/reject", "POST"): Row(
        ACT_ON_TASK, post_json({"opinion": "不符合条件"}), fresh_task
    ),
    # The submitter (the officer) withdraws the hrss task it completed.
    ("/api/v1/tasks/<task_id>/withdraw", "POST"): Row(
        ACT_ON_TASK, post_json({}), fresh_completed_task
    ),
    # The fin task, urged by the officer who completed the step before it.
    ("/api/v1/tasks/<task_id>/urge", "POST"): Row(
        expect(401, 200, 403, 404, 403, 403, 200), post_json({}), fresh_next_task
    ),
    ("/api/v1/tasks/<task_id>/cc", "POST"): Row(
        ACT_ON_TASK, post_json({"users": ["baoji.agri"]}), fresh_task
    ),
    ("/api/v1/instances/<instance_id>/opinions", "GET"): Row(OWN_JURISDICTION),
    ("/api/v1/instances/<instance_id>/signers", "GET"): Row(
        OWN_JURISDICTION, fresh=fresh_co_review
    ),
    # The lead department (hrss in Baoji), the starter (the admin) and admins change signers.
    ("/api/v1/instances/<instance_id>/signers", "POST"): Row(
        expect(401, 200, 403, 404, 403, 403, 200),
        post_json({"departments": ["edu"], "position": "parallel"}),
        fresh_co_review,
    ),
    ("/api/v1/instances/<instance_id>/signers/<department>", "DELETE"): Row(
        expect(401, 200, 403, 404, 403, 403, 200), delete, fresh_co_review
    ),
    # Everyone sees the proxies naming them; admins and integrators see all.
    ("/api/v1/proxies", "GET"): Row(
        LOGGED_IN, lists=("proxy_id", lambda _: {"officer", "integrator", "admin"})
    ),
    # Officers name their own proxies, admins anyone's.
    ("/api/v1/proxies", "POST"): Row(
        expect(401, 201, 403, 403, 403, 403, 201), post_json({**PROXY, "user": "baoji.hrss"})
    ),
    ("/api/v1/proxies/<proxy_id>", "DELETE"): Row(
        expect(401, 204, 404, 404, 404, 403, 204), delete, fresh_proxy
    ),
}


def _guarded_routes(app: Flask) -> dict[tuple[str, str], Rule]:
    return {
        (rule.rule, method): rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNGUARDED_ENDPOINTS
        # Web UI pages sign in with the session cookie, not a bearer token: their
        # access is tested with them (tests/e2e/test_web_ui.py and the pages' own tests).
        and rule.endpoint.partition(".")[0] not in ui_registry(app).blueprints
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
        "proxy_id": w.proxy_id,
        "department": "agri",
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


# --- the web UI: the same matrix with the session cookie ------------------------------------
# UI pages answer HTML to a signed-in browser.  An anonymous visitor is sent to the login page
# (302), a role without access gets the 403 page, and another department's or jurisdiction's
# object the same 404 page as an unknown id.  A form whose action the engine refuses for a
# reason the officer should read (a claim by someone else) redirects back with a message, so
# 302 there means "answered"; what the rows guard is who gets the 403s and 404s.

UI_SIGNED_IN = expect(302, 200, 200, 200, 200, 200, 200)
UI_OWN_JURISDICTION = expect(302, 200, 200, 404, 200, 200, 200)
UI_OWN_DEPARTMENT = expect(302, 200, 404, 404, 404, 200, 200)
UI_DESIGNERS = expect(302, 403, 403, 403, 200, 403, 200)
UI_MANAGERS = expect(302, 403, 403, 403, 403, 200, 200)
UI_ADMIN = expect(302, 403, 403, 403, 403, 403, 200)
EVERYONE_REDIRECTED = expect(302, 302, 302, 302, 302, 302, 302)
UI_FORM_ON_TASK = expect(302, 302, 404, 404, 404, 302, 302)


@dataclass(frozen=True)
class UiRow:
    """``form``: POST it with the CSRF token (None: GET).  ``shows``: the page shows this
    ``World`` target's id exactly to the roles these statuses answer 200."""

    expected: dict[str, int]
    form: dict[str, Any] | None = None
    fresh: Callable[[World], dict[str, Any]] | None = None
    shows: tuple[str, dict[str, int]] | None = None


UI_MATRIX: dict[tuple[str, str], UiRow] = {
    ("/", "GET"): UiRow(EVERYONE_REDIRECTED),
    ("/login", "GET"): UiRow(PUBLIC),
    ("/login", "POST"): UiRow(
        EVERYONE_REDIRECTED, {"username": "admin", "password": DEMO_PASSWORD}
    ),
    ("/logout", "POST"): UiRow(EVERYONE_REDIRECTED, {}),
    ("/language", "POST"): UiRow(EVERYONE_REDIRECTED, {"lang": "en"}),
    ("/inbox", "GET"): UiRow(UI_SIGNED_IN),
    ("/instances/<instance_id>", "GET"): UiRow(UI_OWN_JURISDICTION),
    ("/instances/<instance_id>/diagram.bpmn", "GET"): UiRow(UI_OWN_JURISDICTION),
    ("/tasks/<task_id>", "GET"): UiRow(UI_OWN_DEPARTMENT),
    ("/tasks/<task_id>/claim", "POST"): UiRow(UI_FORM_ON_TASK, {}, fresh_task),
    ("/tasks/<task_id>/unclaim", "POST"): UiRow(UI_FORM_ON_TASK, {}, fresh_claimed_task),
    ("/tasks/<task_id>/complete", "POST"): UiRow(UI_FORM_ON_TASK, {}, fresh_task),
    ("/designer/", "GET"): UiRow(UI_DESIGNERS),
    ("/designer/new", "GET"): UiRow(UI_DESIGNERS),
    ("/designer/<kind>/<key>", "GET"): UiRow(UI_DESIGNERS),
    ("/designer/<kind>/<key>/diff", "GET"): UiRow(UI_DESIGNERS),
    ("/brands/", "GET"): UiRow(UI_SIGNED_IN, shows=("brand_id", UI_OWN_JURISDICTION)),
    ("/brands/<brand_id>", "GET"): UiRow(UI_OWN_JURISDICTION),
    ("/dashboard/", "GET"): UiRow(UI_SIGNED_IN),
    ("/admin/", "GET"): UiRow(expect(302, 403, 403, 403, 403, 302, 302)),
    ("/admin/users", "GET"): UiRow(UI_ADMIN),
    ("/admin/users", "POST"): UiRow(
        expect(302, 403, 403, 403, 403, 403, 302),
        {"username": "matrix.user", "password": "matrix-password-1", "role": "designer"},
    ),
    ("/admin/departments", "GET"): UiRow(UI_MANAGERS),
    ("/admin/webhooks", "GET"): UiRow(UI_MANAGERS, shows=("subscription_id", UI_MANAGERS)),
    ("/admin/webhooks", "POST"): UiRow(
        expect(302, 403, 403, 403, 403, 201, 201), {"url": HOOK_URL, "event_types": "task.created"}
    ),
    ("/admin/webhooks/<subscription_id>", "GET"): UiRow(
        UI_MANAGERS, shows=("delivery_id", UI_MANAGERS)
    ),
    ("/admin/webhooks/deliveries/<delivery_id>/redeliver", "POST"): UiRow(
        expect(302, 403, 403, 403, 403, 302, 302), {}
    ),
    ("/admin/incidents", "GET"): UiRow(UI_ADMIN, shows=("incident_id", UI_ADMIN)),
    ("/admin/incidents/<int:incident_id>/retry", "POST"): UiRow(
        expect(302, 403, 403, 403, 403, 403, 302), {}, fresh_incident
    ),
}


def _ui_routes(app: Flask) -> dict[tuple[str, str], Rule]:
    return {
        (rule.rule, method): rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint.partition(".")[0] in ui_registry(app).blueprints
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    }


def _browser(app: Flask, role: str) -> FlaskClient:
    """A client with its own cookie jar, signed in as ``role`` through the login form."""
    client = app.test_client()
    if role != "anonymous":
        assert sign_in(client, USERS[role]).status_code == 302
    return client


def test_every_ui_route_has_a_row_in_the_ui_matrix(app: Flask) -> None:
    routes = set(_ui_routes(app))
    assert sorted(routes - set(UI_MATRIX)) == [], "add these UI routes to UI_MATRIX"
    assert sorted(set(UI_MATRIX) - routes) == [], "these UI_MATRIX rows name no route any more"


def test_each_role_gets_the_ui_page_the_ui_matrix_gives(app: Flask, world: World) -> None:
    browsers = {role: _browser(app, role) for role in ROLES}
    wrong: list[str] = []
    for (path_rule, method), rule in sorted(_ui_routes(app).items()):
        row = UI_MATRIX[(path_rule, method)]
        for role in ROLES:
            target = row.fresh(world) if row.fresh else {}
            path = _path(app, rule, world, {"kind": "dmn", **target})
            if row.form is None:
                response = browsers[role].get(path)
            else:
                client = _browser(app, role)  # a form may sign out or in: a session of its own
                response = client.post(
                    path, data={"csrf_token": csrf_token(client.get("/login")), **row.form}
                )
            want = row.expected[role]
            if _status_class(response.status_code) != _status_class(want):
                wrong.append(
                    f"{method} {path_rule} as {role}: {response.status_code}, expected {want}"
                )
            elif row.shows and response.status_code == 200:
                attribute, seen_by = row.shows
                shown = str(getattr(world, attribute)) in response.get_data(as_text=True)
                if shown != (role in seeing(seen_by)):
                    wrong.append(f"{method} {path_rule} as {role}: target shown={shown}")
    assert not wrong, "\n".join(wrong)
