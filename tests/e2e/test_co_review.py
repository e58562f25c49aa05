"""The co_review (会签) process through HTTP, on SQLite and PostgreSQL.

One parallel task per department, the completion rules all / ratio / any, the
consolidated ``result`` and ``opinions``, and the opinion form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.db import Database
from tests.api_helpers import (
    app_with_synthetic_pack,
    complete,
    get_instance,
    ok,
    open_tasks,
    problem,
    start,
    tasks,
)

Users = Callable[[str], dict[str, str]]

CO_REVIEW = Path(__file__).resolve().parents[2] / "bpmn" / "co_review.bpmn"
QH_06 = ["hrss", "agri", "commerce", "rural_rev", "fin"]
OPINION = {"approve": "同意", "reject": "不符合条件", "need_info": "请补充吸纳就业协议"}


@pytest.fixture
def users(login: Users) -> Users:
    """``login``, once per user and test."""
    return cache(login)


@pytest.fixture
def co_review(deploy: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return deploy(CO_REVIEW)


def start_co_review(
    client: FlaskClient, users: Users, jurisdiction: str, **variables: Any
) -> dict[str, Any]:
    variables = {"jurisdiction": jurisdiction, "subject": "劳务品牌认定会签", **variables}
    return start(client, users("integrator"), key="co_review", variables=variables)


def start_response(
    client: FlaskClient, users: Users, jurisdiction: str, **variables: Any
) -> TestResponse:
    body = {"process_key": "co_review", "variables": {"jurisdiction": jurisdiction, **variables}}
    return client.post("/api/v1/instances", headers=users("integrator"), json=body)


def review_tasks(
    client: FlaskClient, users: Users, instance_id: str, **query: Any
) -> dict[str, dict[str, Any]]:
    """The instance's review tasks by department, as an admin sees them."""
    found = tasks(client, users("admin"), instance_id=instance_id, page_size=100, **query)
    return {task["department"]: task for task in found}


def answer(
    client: FlaskClient, users: Users, jurisdiction: str, task: dict[str, Any], decision: str
) -> TestResponse:
    officer = users(f"{jurisdiction}.{task['department']}")
    return complete(
        client, officer, task["id"], {"decision": decision, "opinion": OPINION[decision]}
    )


def answer_in_turn(
    client: FlaskClient,
    users: Users,
    instance: dict[str, Any],
    departments: Sequence[str],
    decisions: Sequence[str],
) -> dict[str, Any]:
    """The first ``len(decisions)`` departments answer in order; the last answer ends the
    co-review and none before it does.  Returns the finished instance."""
    jurisdiction = instance["jurisdiction"]
    by_department = review_tasks(client, users, instance["id"])
    admin = users("admin")
    for department, decision in zip(departments, decisions, strict=False):
        assert get_instance(client, admin, instance["id"])["status"] == "running"
        ok(answer(client, users, jurisdiction, by_department[department], decision))
    finished = get_instance(client, admin, instance["id"])
    assert finished["status"] == "completed"
    return finished


# --- 1. one task per roster department, each seen by its own officer only -------


@pytest.mark.parametrize(("jurisdiction", "size"), [("baoji", 17), ("qinghai", 19)])
def test_whole_roster_countersigns_one_task_each_and_unanimous_approval_approves(
    client: FlaskClient, users: Users, co_review: dict[str, Any], jurisdiction: str, size: int
) -> None:
    instance = start_co_review(client, users, jurisdiction)
    roster = instance["variables"]["roster"]
    by_department = review_tasks(client, users, instance["id"], state="open")
    assert len(roster) == len(by_department) == size
    assert sorted(by_department) == sorted(roster)

    for index, code in enumerate(roster):
        officer = users(f"{jurisdiction}.{code}")
        [own] = open_tasks(client, officer)
        assert own["id"] == by_department[code]["id"]
        assert (own["name"], own["form"]["key"], own["data"]["department"]) == (
            "部门会签",
            "co_review_opinion",
            code,
        )
        assert own["due_at"] is not None and "reviewers" not in own["data"]
        other = by_department[roster[(index + 1) % size]]
        problem(client.get(f"/api/v1/tasks/{other['id']}", headers=officer), 404, "not-found")
        problem(complete(client, officer, other["id"], {"decision": "approve"}), 404, "not-found")
        ok(complete(client, officer, own["id"], {"decision": "approve"}))

    variables = get_instance(client, users("admin"), instance["id"])["variables"]
    assert variables["result"] == "approved"
    assert variables["opinions"] == {
        code: {"decision": "approve", "opinion": "", "completed_by": f"{jurisdiction}.{code}"}
        for code in roster
    }


# --- 2-4. completion rules: what decides, and what is cancelled ------------------


@pytest.mark.parametrize(
    ("rule", "decisions", "result"),
    [
        ("all", ["approve", "reject", "approve", "approve", "approve"], "rejected"),
        ("all", ["approve", "approve", "need_info", "approve", "approve"], "need_info"),
        ("all", ["reject", "need_info", "reject", "approve", "approve"], "need_info"),
        ("ratio:0.6", ["approve", "approve", "approve"], "approved"),
        ("ratio:0.6", ["reject", "reject", "reject"], "rejected"),
        ("ratio:0.6", ["approve", "reject", "need_info", "approve", "approve"], "approved"),
        ("ratio:0.6", ["approve", "need_info", "reject", "approve", "reject"], "need_info"),
        ("any", ["reject", "approve"], "approved"),
        ("any", ["reject"] * 5, "rejected"),
        ("any", ["reject", "need_info", "reject", "reject", "reject"], "need_info"),
    ],
    ids=[
        "all-one-rejection-rejects",
        "all-one-need-info-asks-for-info",
        "all-need-info-takes-precedence-over-rejection",
        "ratio-three-of-five-approve-early",
        "ratio-three-rejections-reject-early",
        "ratio-reached-by-the-last-answer",
        "ratio-missed-with-need-info",
        "any-first-approval-approves",
        "any-rejects-only-when-all-reject",
        "any-missed-with-need-info",
    ],
)
def test_completion_rule_decides_result_and_cancels_the_unanswered_tasks(
    client: FlaskClient,
    users: Users,
    co_review: dict[str, Any],
    rule: str,
    decisions: list[str],
    result: str,
) -> None:
    instance = start_co_review(client, users, "qinghai", departments=QH_06, rule=rule)
    finished = answer_in_turn(client, users, instance, QH_06, decisions)

    answered, unanswered = QH_06[: len(decisions)], QH_06[len(decisions) :]
    variables = finished["variables"]
    assert variables["result"] == result
    assert {code: o["decision"] for code, o in variables["opinions"].items()} == dict(
        zip(answered, decisions, strict=True)
    )
    final = review_tasks(client, users, instance["id"])
    assert {code: task["state"] for code, task in final.items()} == {
        **dict.fromkeys(answered, "completed"),
        **dict.fromkeys(unanswered, "cancelled"),
    }
    for code in unanswered:
        problem(answer(client, users, "qinghai", final[code], "approve"), 409, "conflict")


# --- 5. who countersigns ---------------------------------------------------------


@pytest.mark.parametrize(
    ("jurisdiction", "variables", "departments"),
    [
        ("qinghai", {"measure": "(六)"}, QH_06),
        ("baoji", {"measure": "六(三)"}, ["hrss", "culture"]),
        ("qinghai", {"measure": "(六)", "departments": ["fin", "hrss"]}, ["fin", "hrss"]),
    ],
    ids=["qinghai-measure", "baoji-measure", "explicit-departments-win-over-measure"],
)
def test_departments_come_from_the_list_else_the_measure(
    client: FlaskClient,
    users: Users,
    co_review: dict[str, Any],
    jurisdiction: str,
    variables: dict[str, Any],
    departments: list[str],
) -> None:
    instance = start_co_review(client, users, jurisdiction, **variables)
    assert sorted(review_tasks(client, users, instance["id"], state="open")) == sorted(departments)


@pytest.mark.parametrize(
    ("variables", "slug", "mentioned"),
    [
        ({"measure": "(九十九)"}, "invalid-input", "(九十九)"),
        ({"departments": ["hrss", "csrc"]}, "invalid-input", "csrc"),
        ({"departments": []}, "script-error", "at least one department"),
        ({"rule": "most"}, "script-error", "most"),
        ({"rule": "ratio:1.5"}, "script-error", "ratio:1.5"),
    ],
    ids=[
        "unknown-measure",
        "department-not-in-roster",
        "no-departments",
        "unknown-rule",
        "ratio-above-one",
    ],
)
def test_invalid_start_is_422_and_starts_nothing(
    client: FlaskClient,
    users: Users,
    co_review: dict[str, Any],
    variables: dict[str, Any],
    slug: str,
    mentioned: str,
) -> None:
    body = problem(start_response(client, users, "baoji", **variables), 422, slug)
    assert mentioned in body["detail"]
    assert ok(client.get("/api/v1/instances", headers=users("admin"))) == []
    assert tasks(client, users("admin")) == []


# --- 6. a new jurisdiction is data only --------------------------------------------


class TestSyntheticJurisdiction:
    @pytest.fixture
    def app(self, database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
        return app_with_synthetic_pack(database.url, tmp_path, monkeypatch, 20)

    def test_twenty_department_pack_runs_a_co_review_to_approval(
        self, client: FlaskClient, users: Users, co_review: dict[str, Any]
    ) -> None:
        instance = start_co_review(client, users, "synthetic", measure="(一)")
        departments = [f"dept{number:02d}" for number in range(1, 21)]
        assert sorted(review_tasks(client, users, instance["id"], state="open")) == departments

        finished = answer_in_turn(client, users, instance, departments, ["approve"] * 20)
        assert finished["variables"]["result"] == "approved"
        assert len(finished["variables"]["opinions"]) == 20


# --- 7. the opinion form -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "mentioned"),
    [
        ({"decision": "reject"}, "opinion", "'opinion' is a required property"),
        ({"decision": "need_info", "opinion": "  "}, "opinion", "does not match"),
        ({"decision": "maybe"}, "decision", "not valid"),
        ({"decision": "approve", "amount": 3000}, "amount", "'amount' was unexpected"),
    ],
    ids=[
        "reject-without-opinion",
        "need-info-with-blank-opinion",
        "unknown-decision",
        "unknown-field",
    ],
)
def test_invalid_opinion_is_422_naming_the_field_and_changes_nothing(
    client: FlaskClient,
    users: Users,
    co_review: dict[str, Any],
    data: dict[str, Any],
    field: str,
    mentioned: str,
) -> None:
    instance = start_co_review(client, users, "baoji", departments=["hrss", "fin"])
    task = review_tasks(client, users, instance["id"])["fin"]
    assert task["form"]["schema"]["then"]["required"] == ["opinion"]

    body = problem(complete(client, users("baoji.fin"), task["id"], data), 422, "invalid-input")
    assert [(e["field"], mentioned in e["message"]) for e in body["errors"]] == [(field, True)]

    unchanged = ok(client.get(f"/api/v1/tasks/{task['id']}", headers=users("baoji.fin")))
    assert (unchanged["state"], unchanged["version"]) == ("open", task["version"])
    assert get_instance(client, users("admin"), instance["id"])["variables"]["opinions"] == {}


def test_an_approval_without_opinion_never_carries_a_callers_leftover_opinion(
    client: FlaskClient, users: Users, co_review: dict[str, Any]
) -> None:
    instance = start_co_review(
        client, users, "baoji", departments=["fin"], opinion="发起方的旧意见"
    )
    task = review_tasks(client, users, instance["id"])["fin"]
    ok(complete(client, users("baoji.fin"), task["id"], {"decision": "approve"}))
    finished = get_instance(client, users("admin"), instance["id"])
    assert finished["variables"]["opinions"]["fin"]["opinion"] == ""
    assert finished["variables"]["result"] == "approved"
