"""退回 inside and after Qinghai's 19-department co-review, then finishing the instance.

A Qinghai brand nomination calls co_review with the whole roster (19 departments).
Returning from inside it (a department sends the matter back to the preliminary review)
and after it (the HR decision sends it back to the co-review) must leave the workflow,
the task rows, the history and ``huiqian check`` consistent: the instance then runs to
the library like any other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api_helpers import (
    QINGXIU,
    countersign,
    deploy_brand_library,
    elapse,
    get_brand,
    get_instance,
    history,
    hr_step,
    nominate_brand,
    ok,
    tasks,
)
from tests.approval_helpers import Users, act, actions, assert_consistent, frozen_clock, opinions

ROSTER_SIZE = 19


@pytest.fixture
def users(login: Users) -> Users:
    return cache(login)


@pytest.fixture(autouse=True)
def library(app: Flask, deploy: Callable[..., dict[str, Any]]) -> None:
    frozen_clock(app)
    deploy_brand_library(deploy)


def in_co_review(client: FlaskClient, users: Users) -> dict[str, Any]:
    """Nominated, recommended and through preliminary review: 19 departments review."""
    instance = nominate_brand(client, users, "qinghai", QINGXIU)
    hr_step(client, users, instance, "recommend", {"approved": True, "opinion": "择优推荐"})
    hr_step(client, users, instance, "preliminary", {"decision": "approve", "opinion": "初审通过"})
    return instance


def rows(client: FlaskClient, users: Users, instance: dict[str, Any]) -> list[dict[str, Any]]:
    return tasks(client, users("admin"), instance_id=instance["id"], page_size=100)


def states(found: list[dict[str, Any]], bpmn_id: str) -> Counter[str]:
    return Counter(task["state"] for task in found if task["bpmn_id"] == bpmn_id)


def finish(app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]) -> None:
    """Everyone approves; the publicity passes; the brand enters the library."""
    assert len(countersign(client, users, instance)) == ROSTER_SIZE
    hr_step(client, users, instance, "decide", {"approved": True, "opinion": "同意纳入"})
    elapse(app, days=5, seconds=1)
    finished = get_instance(client, users("admin"), instance["id"])
    assert (finished["status"], finished["variables"]["result"]) == ("completed", "in_library")
    assert len(finished["variables"]["opinions"]) == ROSTER_SIZE
    brand = get_brand(client, users("admin"), finished["variables"]["brand_id"])
    assert [event["action"] for event in brand["history"]] == ["nominated", "added"]


def test_a_department_returns_from_inside_the_co_review_and_the_instance_still_finishes(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    instance = in_co_review(client, users)
    first_round = [t for t in rows(client, users, instance) if t["bpmn_id"] == "review"]
    assert len(first_round) == ROSTER_SIZE
    by_department = {task["department"]: task for task in first_round}
    roster = instance["variables"]["roster"]
    for code in roster[:5]:
        officer = users(f"qinghai.{code}")
        ok(
            act(
                client, officer, by_department[code]["id"], "complete", data={"decision": "approve"}
            )
        )

    returner = roster[5]
    outcome = ok(
        act(
            client,
            users(f"qinghai.{returner}"),
            by_department[returner]["id"],
            "return",
            to_element="preliminary",
            opinion="吸纳就业协议数量与推荐表不符，请重新初审",
        )
    )
    assert [task["bpmn_id"] for task in outcome["created"]] == ["preliminary"]
    found = rows(client, users, instance)
    assert states(found, "review") == {"completed": 5, "cancelled": ROSTER_SIZE - 5}
    assert states(found, "preliminary") == {"completed": 1, "open": 1}
    assert [t["bpmn_id"] for t in found if t["state"] == "open"] == ["preliminary"]
    assert_consistent(app)

    hr_step(client, users, instance, "preliminary", {"decision": "approve", "opinion": "已核实"})
    second_round = {t["id"] for t in rows(client, users, instance) if t["state"] == "open"}
    assert len(second_round) == ROSTER_SIZE and not second_round & {t["id"] for t in first_round}
    finish(app, client, users, instance)

    found = rows(client, users, instance)
    assert states(found, "review") == {"completed": 5 + ROSTER_SIZE, "cancelled": ROSTER_SIZE - 5}
    assert "return" in actions(history(client, users("admin"), instance["id"]))
    returned = [
        o for o in opinions(client, users("admin"), instance["id"]) if o["action"] == "return"
    ]
    assert [(o["department"], o["officer"]) for o in returned] == [
        (returner, f"qinghai.{returner}")
    ]
    assert_consistent(app)


def test_the_decision_after_the_co_review_returns_to_it_and_it_runs_again(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    instance = in_co_review(client, users)
    first_round = countersign(client, users, instance)
    [decide] = [t for t in rows(client, users, instance) if t["state"] == "open"]
    assert decide["bpmn_id"] == "decide"

    outcome = ok(
        act(
            client,
            users("qinghai.hrss"),
            decide["id"],
            "return",
            to_task_id=first_round[0]["id"],
            opinion="会签意见不充分，请重新会签",
        )
    )
    assert len(outcome["created"]) == ROSTER_SIZE
    assert {task["bpmn_id"] for task in outcome["created"]} == {"review"}
    found = rows(client, users, instance)
    assert states(found, "decide") == {"cancelled": 1}
    assert states(found, "review") == {"completed": ROSTER_SIZE, "open": ROSTER_SIZE}
    assert_consistent(app)

    finish(app, client, users, instance)
    assert states(rows(client, users, instance), "decide") == {"cancelled": 1, "completed": 1}
    assert_consistent(app)
