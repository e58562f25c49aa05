"""brand_assessment (动态管理) and brand_exit (退出) over HTTP: a brand in the library is
checked four ways, scored by the brand_assessment_score table, and kept, rectified or
taken out of the library, with its history intact."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.clock import FakeClock
from engine.models import Event
from tests.api_helpers import (
    admit_brand,
    countersign,
    deploy_brand_library,
    elapse,
    get_brand,
    get_instance,
    hr_step,
    open_tasks,
    send_message,
    start,
)

Users = Callable[[str], dict[str, str]]

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SMALL_REVIEW = ["hrss", "fin", "agri"]
FENGXIANG = {
    "name": "凤翔泥塑匠",
    "region": "凤翔区",
    "industry": "泥塑",
    "title": "匠",
    "sponsor": "凤翔区泥塑非遗工坊",
    "workers": 640,
    "agreements": 510,
    "training_programs": 4,
}
METHODS = ("phone_followup", "questionnaire", "field_survey")
GOOD = {
    "training_quality": 85,
    "employment_change": 80,
    "market_competitiveness": 90,
    "social_recognition": 88,
}


@pytest.fixture
def users(login: Users) -> Users:
    return cache(login)


@pytest.fixture
def brand_id(app: Flask, client: FlaskClient, users: Users, deploy: Callable[..., Any]) -> str:
    app.extensions["huiqian.engine"].clock = FakeClock(START)
    deploy_brand_library(deploy)
    return admit_brand(app, client, users, "baoji", FENGXIANG, departments=SMALL_REVIEW)


def assess(
    client: FlaskClient, users: Users, brand_id: str, scores: dict[str, float]
) -> dict[str, Any]:
    """Start an assessment; all four methods report ``scores``.  Returns the instance."""
    instance = start(
        client,
        users("baoji.hrss"),
        "brand_assessment",
        business_key=f"assessment-{brand_id}",
        variables={"brand_id": brand_id, "departments": SMALL_REVIEW},
    )
    assert open_steps(client, users, instance) == sorted(METHODS)
    for method in METHODS:
        hr_step(client, users, instance, method, {**scores, "notes": f"{method}记录"})
    reached = send_message(
        client,
        users("integrator"),
        "third_party_report",
        {"brand_id": brand_id},
        {**scores, "evaluator": "第三方评估机构"},
    )
    assert reached == [{"instance_id": instance["id"], "started": False}]
    return instance


def open_steps(client: FlaskClient, users: Users, instance: dict[str, Any]) -> list[str]:
    found = open_tasks(client, users("admin"), instance_id=instance["id"], page_size=100)
    return sorted(task["bpmn_id"] for task in found)


def variables(client: FlaskClient, users: Users, instance: dict[str, Any]) -> dict[str, Any]:
    return get_instance(client, users("admin"), instance["id"])["variables"]


def moves(client: FlaskClient, users: Users, brand_id: str) -> list[tuple[str, str | None, str]]:
    history = get_brand(client, users("baoji.hrss"), brand_id)["history"]
    return [(e["action"], e["from_status"], e["to_status"]) for e in history]


ADMITTED = [("nominated", None, "nominated"), ("added", "nominated", "in_library")]


def test_good_indicators_keep_the_brand_in_the_library(
    app: Flask, client: FlaskClient, users: Users, brand_id: str
) -> None:
    instance = assess(client, users, brand_id, GOOD)

    state = variables(client, users, instance)
    assert (state["assessment"], state["result"], state["trigger"]) == ("keep", "keep", None)
    assert state["third_party"]["evaluator"] == "第三方评估机构"
    assert moves(client, users, brand_id) == ADMITTED
    assert brand_announcements(app, brand_id) == ["brand.added"]


def test_poor_indicators_propose_exit_and_the_exit_procedure_removes_the_brand(
    app: Flask, client: FlaskClient, users: Users, brand_id: str
) -> None:
    instance = assess(client, users, brand_id, {**GOOD, "employment_change": 30})

    state = variables(client, users, instance)
    assert (state["assessment"], state["trigger"]) == ("propose_exit", "employment_decline")
    assert state["scores"]["employment_change"] == 30
    assert get_brand(client, users("admin"), brand_id)["status"] == "exit_proposed"
    assert open_steps(client, users, instance) == ["evaluate"]

    evaluation = {"reasons": ["employment_decline"], "opinion": "带动就业人数明显减少"}
    hr_step(client, users, instance, "evaluate", evaluation)
    countersign(client, users, instance)
    hr_step(client, users, instance, "decide", {"approved": True, "opinion": "同意退出"})
    elapse(app, days=4)
    assert get_brand(client, users("admin"), brand_id)["status"] == "exit_proposed"
    elapse(app, days=1, seconds=1)

    finished = get_instance(client, users("admin"), instance["id"])
    assert (finished["status"], finished["variables"]["result"]) == ("completed", "exited")
    brand = get_brand(client, users("baoji.hrss"), brand_id)
    assert brand["status"] == "exited"
    assert moves(client, users, brand_id) == [
        *ADMITTED,
        ("exit_proposed", "in_library", "exit_proposed"),
        ("exited", "exit_proposed", "exited"),
    ]
    assert brand["history"][2]["details"]["reason"] == "employment_decline"
    assert brand["history"][3]["details"]["reasons"] == ["employment_decline"]
    assert {e["instance_id"] for e in brand["history"][2:]} == {instance["id"]}
    assert brand_announcements(app, brand_id) == ["brand.added", "brand.exited"]


def brand_announcements(app: Flask, brand_id: str) -> list[str]:
    """The brand.* events integrations were told, oldest first."""
    with app.extensions["huiqian.engine"].db.read_session() as s:
        found = s.scalars(select(Event).where(Event.type.like("brand.%")).order_by(Event.at))
        return [event.type for event in found if event.data["brand_id"] == brand_id]


def test_passed_rectification_returns_the_brand_to_the_library_after_the_deadline(
    app: Flask, client: FlaskClient, users: Users, brand_id: str
) -> None:
    instance = assess(client, users, brand_id, {**GOOD, "training_quality": 50})

    assert variables(client, users, instance)["assessment"] == "rectify"
    assert get_brand(client, users("admin"), brand_id)["status"] == "rectifying"
    elapse(app, days=89)
    assert open_steps(client, users, instance) == []
    elapse(app, days=1, seconds=1)
    hr_step(client, users, instance, "recheck", {"approved": True, "opinion": "整改到位"})

    assert variables(client, users, instance)["result"] == "rectified"
    assert moves(client, users, brand_id) == [
        *ADMITTED,
        ("rectifying", "in_library", "rectifying"),
        ("added", "rectifying", "in_library"),
    ]


def test_exit_refused_in_co_review_withdraws_the_proposal(
    client: FlaskClient, users: Users, brand_id: str
) -> None:
    instance = start(
        client,
        users("baoji.hrss"),
        "brand_exit",
        variables={"brand_id": brand_id, "departments": SMALL_REVIEW},
    )
    evaluation = {"reasons": ["low_recognition", "training_quality"], "opinion": "抽查发现"}
    hr_step(client, users, instance, "evaluate", evaluation)
    assert get_brand(client, users("admin"), brand_id)["status"] == "exit_proposed"
    countersign(client, users, instance, {"agri": "reject"})

    assert variables(client, users, instance)["result"] == "retained"
    assert moves(client, users, brand_id) == [
        *ADMITTED,
        ("exit_proposed", "in_library", "exit_proposed"),
        ("added", "exit_proposed", "in_library"),
    ]
