"""Operations on a running co-review (会签), through HTTP, on both databases.

依次 (``rule: "sequential"``), 加签 (parallel / before / after), 减签, and what a co-review
department may and may not do alone (withdraw its answer, reject the whole matter).
The Baoji lead department is hrss, which starts and changes the co-reviews here.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.api_helpers import (
    CHENCANG,
    TWO_LANES,
    complete,
    countersign,
    deploy_brand_library,
    get_instance,
    history,
    hr_step,
    nominate_brand,
    ok,
    problem,
    start,
    tasks,
)
from tests.approval_helpers import API, Users, act, actions, assert_consistent, events_of, opinions

CO_REVIEW = Path(__file__).resolve().parents[2] / "bpmn" / "co_review.bpmn"


@pytest.fixture
def users(login: Users) -> Users:
    return cache(login)


@pytest.fixture(autouse=True)
def co_review(deploy: Callable[..., Any]) -> None:
    deploy(CO_REVIEW)


def start_review(
    client: FlaskClient, users: Users, departments: list[str], rule: str = "all"
) -> dict[str, Any]:
    variables = {"departments": departments, "rule": rule}
    return start(client, users("baoji.hrss"), key="co_review", variables=variables)


def reviews(client: FlaskClient, users: Users, instance: dict[str, Any], state: str) -> list[str]:
    """Departments with a task in ``state``, in the order the tasks were created."""
    found = tasks(client, users("admin"), instance_id=instance["id"], state=state, page_size=100)
    return [task["department"] for task in reversed(found)]


def answer(
    client: FlaskClient,
    users: Users,
    instance: dict[str, Any],
    department: str,
    decision: str = "approve",
) -> TestResponse:
    officer = users(f"baoji.{department}")
    [task] = tasks(client, officer, instance_id=instance["id"], state="open")
    data = {"decision": decision, "opinion": "" if decision == "approve" else f"{department}不同意"}
    return complete(client, officer, task["id"], data)


def add(
    client: FlaskClient,
    headers: dict[str, str],
    instance: dict[str, Any],
    departments: list[str],
    position: str,
) -> TestResponse:
    body = {"departments": departments, "position": position, "opinion": "涉及本部门职责"}
    return client.post(f"{API}/instances/{instance['id']}/signers", headers=headers, json=body)


def remove(
    client: FlaskClient, headers: dict[str, str], instance: dict[str, Any], department: str
) -> TestResponse:
    path = f"{API}/instances/{instance['id']}/signers/{department}"
    return client.delete(path, headers=headers, query_string={"opinion": "不涉及本部门职责"})


def variables(client: FlaskClient, users: Users, instance: dict[str, Any]) -> dict[str, Any]:
    return get_instance(client, users("admin"), instance["id"])["variables"]


# --- 依次 sequential ------------------------------------------------------------------------


def test_sequential_review_asks_one_department_at_a_time_in_the_listed_order(
    client: FlaskClient, users: Users
) -> None:
    instance = start_review(client, users, ["fin", "hrss", "agri"], rule="sequential")
    for department in ("fin", "hrss", "agri"):
        assert reviews(client, users, instance, "open") == [department]
        ok(answer(client, users, instance, department))
    done = variables(client, users, instance)
    assert (done["result"], done["required"]) == ("approved", 3)
    assert sorted(done["opinions"]) == ["agri", "fin", "hrss"]
    given = opinions(client, users("admin"), instance["id"])
    assert [o["department"] for o in given] == ["fin", "hrss", "agri"]
    assert {o["task_name"] for o in given} == {"部门依次会签"}


def test_sequential_review_ends_at_the_first_answer_that_is_not_an_approval(
    client: FlaskClient, users: Users
) -> None:
    instance = start_review(client, users, ["fin", "hrss", "agri"], rule="sequential")
    ok(answer(client, users, instance, "fin"))
    ok(answer(client, users, instance, "hrss", "reject"))
    assert get_instance(client, users("admin"), instance["id"])["status"] == "completed"
    assert variables(client, users, instance)["result"] == "rejected"
    assert reviews(client, users, instance, "completed") == ["fin", "hrss"]


# --- 加签 add signers -----------------------------------------------------------------------


def test_a_parallel_signer_gets_a_task_at_once_and_the_rule_needs_its_approval(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    instance = start_review(client, users, ["hrss", "fin"])
    state = ok(add(client, users("baoji.hrss"), instance, ["edu"], "parallel"))
    assert (state["active"], state["required"]) == (["hrss", "fin", "edu"], 3)
    assert [(t["department"], t["name"]) for t in state["created"]] == [("edu", "部门会签")]
    for department in ("hrss", "fin", "edu"):
        ok(answer(client, users, instance, department))
    done = variables(client, users, instance)
    assert (done["result"], sorted(done["opinions"])) == ("approved", ["edu", "fin", "hrss"])
    [event] = events_of(app, "task.signers_added")
    assert (event.data["departments"], event.data["position"]) == (["edu"], "parallel")
    assert "add_signers" in actions(history(client, users("admin"), instance["id"]))
    assert opinions(client, users("admin"), instance["id"])[0]["opinion"] == "涉及本部门职责"
    assert_consistent(app)


def test_signers_added_after_get_their_tasks_once_the_pending_ones_answered(
    client: FlaskClient, users: Users
) -> None:
    instance = start_review(client, users, ["hrss", "fin"])
    state = ok(add(client, users("baoji.hrss"), instance, ["edu", "agri"], "after"))
    assert (state["queued"], state["created"]) == (["edu", "agri"], [])
    ok(answer(client, users, instance, "hrss"))
    ok(answer(client, users, instance, "fin"))
    assert sorted(reviews(client, users, instance, "open")) == ["agri", "edu"]
    ok(answer(client, users, instance, "edu"))
    ok(answer(client, users, instance, "agri", "reject"))
    assert variables(client, users, instance)["result"] == "rejected"


def test_signers_added_before_answer_first_while_the_pending_ones_wait(
    client: FlaskClient, users: Users
) -> None:
    instance = start_review(client, users, ["hrss", "fin", "agri"])
    ok(answer(client, users, instance, "hrss"))
    state = ok(add(client, users("baoji.hrss"), instance, ["edu"], "before"))
    assert (state["answered"], state["active"], state["queued"]) == (
        ["hrss"],
        ["edu"],
        ["fin", "agri"],
    )
    assert sorted(reviews(client, users, instance, "cancelled")) == ["agri", "fin"]
    ok(answer(client, users, instance, "edu"))
    assert sorted(reviews(client, users, instance, "open")) == ["agri", "fin"]
    ok(answer(client, users, instance, "fin"))
    ok(answer(client, users, instance, "agri"))
    assert variables(client, users, instance)["result"] == "approved"


def test_a_sequential_review_takes_signers_before_the_current_one_or_at_the_end(
    client: FlaskClient, users: Users
) -> None:
    instance = start_review(client, users, ["fin", "hrss"], rule="sequential")
    hrss = users("baoji.hrss")
    problem(add(client, hrss, instance, ["edu"], "parallel"), 422, "invalid-input")
    ok(add(client, hrss, instance, ["agri"], "after"))
    state = ok(add(client, hrss, instance, ["edu"], "before"))
    assert (state["active"], state["queued"]) == (["edu"], ["fin", "hrss", "agri"])
    for department in ("edu", "fin", "hrss", "agri"):
        assert reviews(client, users, instance, "open") == [department]
        ok(answer(client, users, instance, department))
    given = opinions(client, users("admin"), instance["id"])
    assert [o["department"] for o in given if o["action"] == "complete"] == [
        "edu",
        "fin",
        "hrss",
        "agri",
    ]


@pytest.mark.parametrize(
    ("departments", "status", "slug"),
    [(["fin"], 422, "invalid-input"), (["csrc"], 422, "invalid-input"), ([], 422, "invalid-input")],
    ids=["already-a-signer", "not-in-the-roster", "nobody"],
)
def test_only_new_roster_departments_can_be_added(
    client: FlaskClient, users: Users, departments: list[str], status: int, slug: str
) -> None:
    instance = start_review(client, users, ["hrss", "fin"])
    problem(add(client, users("baoji.hrss"), instance, departments, "parallel"), status, slug)


# --- 减签 remove a signer -------------------------------------------------------------------


def test_removing_a_pending_signer_cancels_its_task_and_recounts_the_rule(
    app: Flask, client: FlaskClient, users: Users
) -> None:
    instance = start_review(client, users, ["hrss", "fin", "agri"])
    state = ok(remove(client, users("baoji.hrss"), instance, "agri"))
    assert (state["active"], state["required"]) == (["hrss", "fin"], 2)
    assert reviews(client, users, instance, "cancelled") == ["agri"]
    problem(remove(client, users("baoji.hrss"), instance, "agri"), 404, "not-found")
    ok(answer(client, users, instance, "hrss"))
    ok(answer(client, users, instance, "fin"))
    done = variables(client, users, instance)
    assert (done["result"], sorted(done["reviewers"])) == ("approved", ["fin", "hrss"])
    assert events_of(app, "task.signers_removed")[0].data["department"] == "agri"
    assert_consistent(app)


def test_a_removal_that_decides_the_rule_ends_the_review(client: FlaskClient, users: Users) -> None:
    instance = start_review(client, users, ["hrss", "fin", "agri", "edu", "culture"], "ratio:0.5")
    for department, decision in (("hrss", "approve"), ("fin", "approve"), ("agri", "reject")):
        ok(answer(client, users, instance, department, decision))
    assert get_instance(client, users("admin"), instance["id"])["status"] == "running"
    ok(remove(client, users("baoji.hrss"), instance, "edu"))
    finished = get_instance(client, users("admin"), instance["id"])
    assert (finished["status"], finished["variables"]["result"]) == ("completed", "approved")
    assert finished["variables"]["required"] == 2
    assert sorted(reviews(client, users, instance, "cancelled")) == ["culture", "edu"]


def test_removing_the_last_pending_signer_is_422(client: FlaskClient, users: Users) -> None:
    instance = start_review(client, users, ["hrss", "fin"])
    ok(answer(client, users, instance, "hrss"))
    body = problem(remove(client, users("baoji.hrss"), instance, "fin"), 422, "invalid-input")
    assert "last pending signer" in body["detail"]
    problem(remove(client, users("baoji.hrss"), instance, "hrss"), 422, "invalid-input")
    assert reviews(client, users, instance, "open") == ["fin"]


# --- who, and when ----------------------------------------------------------------------------


def test_only_the_lead_department_the_starter_or_an_admin_changes_signers(
    client: FlaskClient, users: Users
) -> None:
    instance = start(
        client,
        users("admin"),
        key="co_review",
        jurisdiction="baoji",
        variables={"departments": ["hrss", "fin", "agri"]},
    )
    problem(add(client, users("baoji.fin"), instance, ["edu"], "parallel"), 403, "forbidden")
    problem(remove(client, users("baoji.fin"), instance, "agri"), 403, "forbidden")
    problem(add(client, users("qinghai.hrss"), instance, ["edu"], "parallel"), 404, "not-found")
    ok(add(client, users("baoji.hrss"), instance, ["edu"], "parallel"))
    signers = ok(
        client.get(f"{API}/instances/{instance['id']}/signers", headers=users("baoji.fin"))
    )
    assert signers["active"] == ["hrss", "fin", "agri", "edu"]


def test_an_instance_without_a_running_co_review_has_no_signers_to_change(
    client: FlaskClient, users: Users, deploy: Callable[..., Any]
) -> None:
    deploy(TWO_LANES)
    instance = start(client, users("baoji.hrss"))
    problem(add(client, users("baoji.hrss"), instance, ["edu"], "parallel"), 409, "conflict")
    problem(
        client.get(f"{API}/instances/{instance['id']}/signers", headers=users("baoji.hrss")),
        409,
        "conflict",
    )


def test_a_department_withdraws_its_answer_while_the_review_runs(
    client: FlaskClient, users: Users
) -> None:
    instance = start_review(client, users, ["hrss", "fin", "agri"])
    ok(answer(client, users, instance, "fin", "reject"))
    [answered] = tasks(client, users("baoji.fin"), instance_id=instance["id"], state="completed")
    outcome = ok(act(client, users("baoji.fin"), answered["id"], "withdraw", reason="误选"))
    assert [t["department"] for t in outcome["created"]] == ["fin"]
    assert variables(client, users, instance)["opinions"] == {}
    for department in ("hrss", "fin", "agri"):
        ok(answer(client, users, instance, department))
    assert variables(client, users, instance)["result"] == "approved"


def test_answers_of_a_concluded_review_cannot_be_withdrawn(
    client: FlaskClient, users: Users
) -> None:
    instance = start_review(client, users, ["hrss", "fin"], rule="any")
    ok(answer(client, users, instance, "fin"))
    [answered] = tasks(client, users("baoji.fin"), instance_id=instance["id"], state="completed")
    problem(act(client, users("baoji.fin"), answered["id"], "withdraw"), 409, "conflict")


def test_a_co_review_department_cannot_reject_the_whole_matter_alone(
    client: FlaskClient, users: Users
) -> None:
    instance = start_review(client, users, ["hrss", "fin"])
    [task] = tasks(client, users("baoji.fin"), instance_id=instance["id"], state="open")
    body = problem(
        act(client, users("baoji.fin"), task["id"], "reject", opinion="不同意"),
        422,
        "invalid-input",
    )
    assert "decision reject" in body["detail"]
    assert get_instance(client, users("admin"), instance["id"])["status"] == "running"


def test_signers_change_in_a_co_review_called_by_another_process(
    client: FlaskClient, users: Users, deploy: Callable[..., Any]
) -> None:
    deploy_brand_library(deploy)
    instance = nominate_brand(client, users, "baoji", CHENCANG, departments=["hrss", "fin"])
    hr_step(client, users, instance, "recommend", {"approved": True, "opinion": "择优推荐"})
    hr_step(client, users, instance, "preliminary", {"decision": "approve", "opinion": "初审通过"})
    ok(add(client, users("baoji.hrss"), instance, ["agri"], "parallel"))
    ok(remove(client, users("baoji.hrss"), instance, "fin"))
    assert [t["department"] for t in countersign(client, users, instance)] == ["agri", "hrss"]
    decided = variables(client, users, instance)
    assert (decided["result"], sorted(decided["opinions"])) == ("approved", ["agri", "hrss"])
