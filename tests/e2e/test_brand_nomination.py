"""brand_nomination (推荐) over HTTP: name check, recommendation, preliminary review,
co-review, decision, publicity with objections, and the brand record it writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.clock import FakeClock
from tests.api_helpers import (
    CHENCANG,
    QINGXIU,
    countersign,
    deploy_brand_library,
    elapse,
    get_brand,
    get_instance,
    hr_step,
    nominate_brand,
    open_tasks,
    send_message,
    the_open_task,
)

Users = Callable[[str], dict[str, str]]

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SMALL_REVIEW = ["hrss", "fin", "agri"]
FORMS = {"baoji": CHENCANG, "qinghai": QINGXIU}
APPROVE = {"approved": True, "opinion": "同意"}


@pytest.fixture
def users(login: Users) -> Users:
    return cache(login)


@pytest.fixture(autouse=True)
def library(app: Flask, deploy: Callable[..., dict[str, Any]]) -> None:
    app.extensions["huiqian.engine"].clock = FakeClock(START)
    deploy_brand_library(deploy)


def through_preliminary(
    client: FlaskClient, users: Users, jurisdiction: str, **variables: Any
) -> dict[str, Any]:
    """Nominated, recommended and through preliminary review: the co-review is open."""
    instance = nominate_brand(client, users, jurisdiction, FORMS[jurisdiction], **variables)
    hr_step(client, users, instance, "recommend", {"approved": True, "opinion": "择优推荐"})
    hr_step(client, users, instance, "preliminary", {"decision": "approve", "opinion": "初审通过"})
    return instance


def in_publicity(client: FlaskClient, users: Users) -> dict[str, Any]:
    instance = through_preliminary(client, users, "baoji", departments=SMALL_REVIEW)
    countersign(client, users, instance)
    hr_step(client, users, instance, "decide", APPROVE)
    return instance


def variables(client: FlaskClient, users: Users, instance: dict[str, Any]) -> dict[str, Any]:
    return get_instance(client, users("admin"), instance["id"])["variables"]


def open_steps(client: FlaskClient, users: Users, instance: dict[str, Any]) -> list[str]:
    found = open_tasks(client, users("admin"), instance_id=instance["id"], page_size=100)
    return sorted(task["bpmn_id"] for task in found)


def assert_ended(
    client: FlaskClient, users: Users, instance: dict[str, Any], result: str
) -> dict[str, Any]:
    finished = get_instance(client, users("admin"), instance["id"])
    assert (finished["status"], finished["variables"]["result"]) == ("completed", result)
    assert open_steps(client, users, instance) == []
    return finished["variables"]


def brand_status(client: FlaskClient, users: Users, instance: dict[str, Any]) -> str:
    brand_id = variables(client, users, instance)["brand_id"]
    return get_brand(client, users("admin"), brand_id)["status"]


@pytest.mark.parametrize(("jurisdiction", "size"), [("baoji", 17), ("qinghai", 19)])
def test_nomination_countersigned_by_the_whole_roster_enters_the_library_after_publicity(
    app: Flask, client: FlaskClient, users: Users, jurisdiction: str, size: int
) -> None:
    instance = through_preliminary(client, users, jurisdiction)
    brand_id = variables(client, users, instance)["brand_id"]
    assert get_brand(client, users("admin"), brand_id)["status"] == "nominated"

    reviews = countersign(client, users, instance)
    assert sorted(t["department"] for t in reviews) == sorted(instance["variables"]["roster"])
    assert len(reviews) == size
    hr_step(client, users, instance, "decide", APPROVE)

    elapse(app, days=4, hours=23)
    assert brand_status(client, users, instance) == "nominated"
    elapse(app, hours=1, seconds=1)

    assert_ended(client, users, instance, "in_library")
    brand = get_brand(client, users(f"{jurisdiction}.hrss"), brand_id)
    assert (brand["status"], brand["name"]) == ("in_library", FORMS[jurisdiction]["name"])
    assert brand["data"]["workers"] == FORMS[jurisdiction]["workers"]
    assert [(e["action"], e["from_status"], e["to_status"]) for e in brand["history"]] == [
        ("nominated", None, "nominated"),
        ("added", "nominated", "in_library"),
    ]
    assert {e["instance_id"] for e in brand["history"]} == {instance["id"]}
    assert brand["history"][1]["details"] == {"opinion": "同意", "publicity_days": 5}


def not_admitted_by(client: FlaskClient, users: Users, instance: dict[str, Any]) -> str:
    """The brand's status is ``not_admitted``, moved by this instance; returns the actor."""
    brand = get_brand(client, users("admin"), variables(client, users, instance)["brand_id"])
    assert brand["status"] == "not_admitted"
    last = brand["history"][-1]
    assert (last["action"], last["from_status"], last["to_status"], last["instance_id"]) == (
        "not_admitted",
        "nominated",
        "not_admitted",
        instance["id"],
    )
    return str(last["actor"])


def test_one_rejection_in_co_review_rejects_and_the_brand_is_not_admitted(
    client: FlaskClient, users: Users
) -> None:
    instance = through_preliminary(client, users, "baoji", departments=SMALL_REVIEW)
    countersign(client, users, instance, {"fin": "reject"})

    ended = assert_ended(client, users, instance, "rejected")
    assert ended["opinions"]["fin"]["decision"] == "reject"
    not_admitted_by(client, users, instance)


def test_a_decision_against_the_nomination_leaves_the_brand_not_admitted(
    client: FlaskClient, users: Users
) -> None:
    instance = through_preliminary(client, users, "baoji", departments=SMALL_REVIEW)
    countersign(client, users, instance)
    hr_step(client, users, instance, "decide", {"approved": False, "opinion": "带动就业不足"})

    assert_ended(client, users, instance, "rejected")
    assert not_admitted_by(client, users, instance) == "baoji.hrss"


def test_a_brand_the_county_does_not_recommend_gets_no_library_record(
    client: FlaskClient, users: Users
) -> None:
    instance = nominate_brand(client, users, "baoji", CHENCANG)
    hr_step(client, users, instance, "recommend", {"approved": False, "opinion": "暂不推荐"})

    assert "brand_id" not in assert_ended(client, users, instance, "rejected")
    listed = client.get("/api/v1/brands", headers=users("admin"), query_string={"page_size": 100})
    assert listed.status_code == 200
    assert CHENCANG["name"] not in [brand["name"] for brand in listed.get_json()]


def test_need_info_returns_to_the_applicant_and_a_second_co_review_passes(
    client: FlaskClient, users: Users
) -> None:
    instance = through_preliminary(client, users, "baoji", departments=SMALL_REVIEW)
    countersign(client, users, instance, {"agri": "need_info"})

    supplement = the_open_task(client, users("baoji.hrss"), instance["id"], "supplement")
    assert supplement["data"]["opinions"]["agri"]["opinion"] == "agri: need_info"
    hr_step(client, users, instance, "supplement", {"supplement": "补交500人劳动协议"})

    second = countersign(client, users, instance)
    assert sorted(t["department"] for t in second) == sorted(SMALL_REVIEW)
    assert open_steps(client, users, instance) == ["decide"]
    state = variables(client, users, instance)
    assert (state["result"], state["info_rounds"]) == ("approved", 1)
    assert state["supplements"] == [
        {"stage": "co_review", "supplement": "补交500人劳动协议", "by": "baoji.hrss"}
    ]


def test_bad_baoji_name_goes_back_with_reasons_and_a_fixed_name_continues(
    client: FlaskClient, users: Users
) -> None:
    instance = nominate_brand(client, users, "baoji", {**CHENCANG, "name": "面点陈仓"})

    revision = the_open_task(client, users("baoji.hrss"), instance["id"], "revise_name")
    reasons = revision["data"]["name_check"]["reasons"]
    assert "wrong_order" in [reason["code"] for reason in reasons]
    assert all(reason["message_zh"] for reason in reasons)
    hr_step(client, users, instance, "revise_name", CHENCANG)

    assert open_steps(client, users, instance) == ["recommend"]
    state = variables(client, users, instance)
    assert (state["name_check"]["ok"], state["name"]) == (True, "陈仓面点师")


def test_qinghai_has_no_naming_rule_so_no_name_check_runs(
    client: FlaskClient, users: Users
) -> None:
    instance = nominate_brand(client, users, "qinghai", QINGXIU)

    assert open_steps(client, users, instance) == ["recommend"]
    state = variables(client, users, instance)
    assert state["naming_rule"] is False and "name_check" not in state


def test_preliminary_review_returns_at_most_twice_then_the_nomination_is_rejected(
    client: FlaskClient, users: Users
) -> None:
    instance = nominate_brand(client, users, "baoji", CHENCANG)
    hr_step(client, users, instance, "recommend", {"approved": True, "opinion": "择优推荐"})
    back = {"decision": "return", "opinion": "请补充培训记录"}
    for round_ in (1, 2):
        hr_step(client, users, instance, "preliminary", back)
        hr_step(client, users, instance, "revise", {"supplement": f"第{round_}次补正"})
        assert variables(client, users, instance)["revisions"] == round_
    hr_step(client, users, instance, "preliminary", back)

    assert_ended(client, users, instance, "rejected")
    not_admitted_by(client, users, instance)


def test_objection_during_publicity_reopens_review_and_dismissal_restarts_publicity(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    instance = in_publicity(client, users)
    brand_id = variables(client, users, instance)["brand_id"]
    elapse(app, days=3)

    reached = send_message(
        client, users("integrator"), "objection", {"brand_id": brand_id}, {"reason": "名称重复"}
    )
    assert reached == [{"instance_id": instance["id"], "started": False}]
    handling = the_open_task(client, users("baoji.hrss"), instance["id"], "handle_objection")
    assert handling["data"]["reason"] == "名称重复"
    hr_step(client, users, instance, "handle_objection", {"upheld": False, "opinion": "不重名"})

    elapse(app, days=3)
    assert brand_status(client, users, instance) == "nominated"
    elapse(app, days=2, seconds=1)
    assert assert_ended(client, users, instance, "in_library")["objections"] == 1
    assert brand_status(client, users, instance) == "in_library"


def test_upheld_objection_rejects_the_nomination(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    instance = in_publicity(client, users)
    send_message(
        client, users("integrator"), "objection", {"business_key": instance["business_key"]}
    )
    hr_step(
        client, users, instance, "handle_objection", {"upheld": True, "opinion": "培训数据不实"}
    )

    assert_ended(client, users, instance, "rejected")
    elapse(app, days=10)
    not_admitted_by(client, users, instance)
