"""HTTP helpers shared by the end-to-end and integration tests of the REST API."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine import jobs
from engine.identity import Role, create_user
from services.app import create_app
from services.demo import seed_demo_users
from tests.conftest import DEMO_PASSWORD, FIXTURES
from tests.jurisdiction_factory import write_synthetic_pack

PROBLEM_BASE = "https://huiqian.dev/problems/"
TWO_LANES = FIXTURES / "two_lanes.bpmn"
TWO_LANE_KEY = "two_lane_review"


def make_app(database_url: str, data_dir: Path) -> Flask:
    """A brand-new application (own engine context, empty spec cache) on an existing database."""
    return create_app(
        {"TESTING": True, "HUIQIAN_DATA_DIR": data_dir, "HUIQIAN_DATABASE_URL": database_url}
    )


def app_with_synthetic_pack(
    database_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch, departments: int
) -> Flask:
    """A new application with demo users that also loads pack ``synthetic`` of ``departments``.

    The pack goes to ``<data_dir>/packs`` and is found through HUIQIAN_JURISDICTIONS_DIR, as an
    installation's extra packs are (``tests.jurisdiction_factory``).
    """
    packs = data_dir / "packs"
    write_synthetic_pack(packs, departments)
    monkeypatch.setenv("HUIQIAN_JURISDICTIONS_DIR", str(packs))
    app = make_app(database_url, data_dir / "data")
    seed_demo_users(app.extensions["huiqian.engine"], DEMO_PASSWORD)
    return app


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


# --- the labor-brand processes (brand_nomination, brand_assessment, brand_exit) ---------------

LIBRARY = Path(__file__).resolve().parents[1] / "bpmn"
# Callees before callers, as `huiqian demo` deploys them.
BRAND_LIBRARY = (
    "decisions/brand_assessment_score.dmn",
    "co_review.bpmn",
    "brand_exit.bpmn",
    "brand_assessment.bpmn",
    "brand_nomination.bpmn",
)


def deploy_brand_library(deploy: Callable[[Path], Any]) -> None:
    for name in BRAND_LIBRARY:
        deploy(LIBRARY / name)


def complete_step(
    client: FlaskClient,
    headers: dict[str, str],
    instance_id: str,
    bpmn_id: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """Complete the single open task ``bpmn_id`` of an instance as ``headers``' user."""
    task = the_open_task(client, headers, instance_id, bpmn_id)
    return ok(complete(client, headers, task["id"], data))


def countersign(
    client: FlaskClient,
    users: Callable[[str], dict[str, str]],
    instance: dict[str, Any],
    decisions: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Every open co-review task of ``instance`` is answered by its own department's officer:
    ``decisions[department]``, else approve.  Returns the tasks as they were answered."""
    jurisdiction = instance["jurisdiction"]
    found = tasks(client, users("admin"), instance_id=instance["id"], state="open", page_size=100)
    reviews = [task for task in found if task["bpmn_id"] == "review"]
    for task in reviews:
        officer = users(f"{jurisdiction}.{task['department']}")
        own = open_tasks(client, officer, instance_id=instance["id"])
        assert [t["id"] for t in own] == [task["id"]], "each department sees its own task only"
        decision = (decisions or {}).get(task["department"], "approve")
        data = {"decision": decision}
        if decision != "approve":
            data["opinion"] = f"{task['department']}: {decision}"
        ok(complete(client, officer, task["id"], data))
    return reviews


def elapse(app: Flask, **delta: float) -> int:
    """Move the app's FakeClock on by ``delta`` and run the jobs that became due."""
    ctx = app.extensions["huiqian.engine"]
    ctx.clock.advance(**delta)
    return jobs.run_due_jobs(ctx)


def get_brand(client: FlaskClient, headers: dict[str, str], brand_id: str) -> dict[str, Any]:
    return ok(client.get(f"/api/v1/brands/{brand_id}", headers=headers))


def send_message(
    client: FlaskClient,
    headers: dict[str, str],
    name: str,
    correlation: dict[str, Any],
    variables: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    body = {"name": name, "correlation": correlation, "variables": variables or {}}
    return ok(client.post("/api/v1/messages", headers=headers, json=body))["reached"]


def hr_step(
    client: FlaskClient,
    users: Callable[[str], dict[str, str]],
    instance: dict[str, Any],
    bpmn_id: str,
    data: dict[str, Any],
) -> dict[str, Any]:
    """Complete ``bpmn_id`` as the hrss officer of the instance's jurisdiction."""
    hrss = users(f"{instance['jurisdiction']}.hrss")
    return complete_step(client, hrss, instance["id"], bpmn_id, data)


# Sample nomination forms: a Baoji brand named by the rule, a Qinghai one that is not.
CHENCANG = {
    "name": "陈仓面点师",
    "region": "陈仓区",
    "industry": "面点",
    "title": "师",
    "sponsor": "陈仓区面点技能培训中心",
    "category": "services",
    "workers": 820,
    "agreements": 560,
    "training_programs": 3,
    "description": "陈仓传统面点制作技艺",
}
# 青绣 does not follow Baoji's 地域+产业+称谓 pattern; Qinghai has no naming rule.
QINGXIU = {
    "name": "青绣",
    "region": "西宁市",
    "industry": "刺绣",
    "title": "绣娘",
    "sponsor": "青海省青绣产业协会",
    "category": "culture_tourism",
    "workers": 12000,
    "agreements": 9000,
    "training_programs": 12,
}


def nominate_brand(
    client: FlaskClient,
    users: Callable[[str], dict[str, str]],
    jurisdiction: str,
    form: dict[str, Any],
    **variables: Any,
) -> dict[str, Any]:
    """The county hrss officer starts brand_nomination and submits the nomination form."""
    instance = start(
        client,
        users(f"{jurisdiction}.hrss"),
        "brand_nomination",
        business_key=f"{jurisdiction}-{form['name']}",
        variables=variables,
    )
    hr_step(client, users, instance, "apply", form)
    return instance


def admit_brand(
    app: Flask,
    client: FlaskClient,
    users: Callable[[str], dict[str, str]],
    jurisdiction: str,
    form: dict[str, Any],
    **variables: Any,
) -> str:
    """Run brand_nomination to the end with every answer positive; returns the brand id."""
    instance = nominate_brand(client, users, jurisdiction, form, **variables)
    hr_step(client, users, instance, "recommend", {"approved": True, "opinion": "择优推荐"})
    hr_step(client, users, instance, "preliminary", {"decision": "approve", "opinion": "初审通过"})
    countersign(client, users, instance)
    hr_step(client, users, instance, "decide", {"approved": True, "opinion": "同意纳入"})
    elapse(app, days=variables.get("publicity_days", 5), seconds=1)
    finished = get_instance(client, users("admin"), instance["id"])
    assert finished["variables"]["result"] == "in_library", finished["variables"]
    return finished["variables"]["brand_id"]
