"""Approval operations on the tasks of a two-step process, through HTTP, on both databases.

转办 transfer, 委派 delegate, 代理 proxy, 退回 return, 驳回 reject, 撤回 withdraw, 催办 urge,
抄送 copy and the opinion history (意见): each operation, who may do it, what it leaves
in the history, the events and the opinions.  The process is Baoji hrss → fin.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api_helpers import (
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
)
from tests.approval_helpers import (
    API,
    MONDAY,
    Users,
    act,
    actions,
    assert_consistent,
    events_of,
    frozen_clock,
    opinions,
)


@pytest.fixture
def users(login: Users) -> Users:
    return cache(login)


@pytest.fixture
def instance(client: FlaskClient, users: Users, deploy: Callable[..., Any]) -> dict[str, Any]:
    """A Baoji two-step instance started by the hrss officer; its hrss task is open."""
    deploy(TWO_LANES)
    return start(client, users("baoji.hrss"))


def hrss_task(client: FlaskClient, users: Users, instance: dict[str, Any]) -> dict[str, Any]:
    return the_open_task(client, users("admin"), instance["id"], "hrss_review")


def fin_task(client: FlaskClient, users: Users, instance: dict[str, Any]) -> dict[str, Any]:
    """The fin task, once the hrss officer has completed the hrss task."""
    ok(complete(client, users("baoji.hrss"), hrss_task(client, users, instance)["id"]))
    return the_open_task(client, users("admin"), instance["id"], "fin_review")


def task_of(client: FlaskClient, headers: dict[str, str], task_id: str) -> Any:
    return client.get(f"{API}/tasks/{task_id}", headers=headers)


# --- 转办 transfer -----------------------------------------------------------------------


def test_transfer_to_a_department_moves_the_task_to_that_inbox(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    task = hrss_task(client, users, instance)
    moved = ok(
        act(
            client,
            users("baoji.hrss"),
            task["id"],
            "transfer",
            to_department="agri",
            opinion="职责在农业农村部门",
        )
    )
    assert (moved["department"], moved["assignee"], moved["version"]) == ("agri", None, 2)
    assert [t["id"] for t in open_tasks(client, users("baoji.agri"))] == [task["id"]]
    problem(task_of(client, users("baoji.hrss"), task["id"]), 404, "not-found")

    entry = history(client, users("admin"), instance["id"])[-1]
    assert (entry["action"], entry["details"]["to"]) == (
        "transfer",
        {"department": "agri", "assignee": None},
    )
    [event] = events_of(app, "task.transferred")
    assert (event.data["department"], event.data["by"]) == ("agri", "baoji.hrss")
    assert [
        (o["action"], o["officer"], o["opinion"])
        for o in opinions(client, users("admin"), instance["id"])
    ] == [("transfer", "baoji.hrss", "职责在农业农村部门")]


def test_transfer_to_an_officer_claims_it_for_them_in_their_department(
    client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    task = hrss_task(client, users, instance)
    moved = ok(act(client, users("baoji.hrss"), task["id"], "transfer", to_user="baoji.agri"))
    assert (moved["department"], moved["assignee"]) == ("agri", "baoji.agri")
    ok(complete(client, users("baoji.agri"), task["id"]))
    assert the_open_task(client, users("admin"), instance["id"], "fin_review")


def test_a_non_assignee_transfers_a_claimed_task_403(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    add_officer(app, "baoji.hrss2", "baoji", "hrss")
    task = hrss_task(client, users, instance)
    ok(client.post(f"{API}/tasks/{task['id']}/claim", headers=users("baoji.hrss"), json={}))
    problem(
        act(client, users("baoji.hrss2"), task["id"], "transfer", to_department="fin"),
        403,
        "forbidden",
    )
    problem(
        act(client, users("baoji.fin"), task["id"], "transfer", to_department="fin"),
        404,
        "not-found",
    )
    assert task_of(client, users("baoji.hrss"), task["id"]).get_json()["department"] == "hrss"


@pytest.mark.parametrize(
    ("body", "status", "slug"),
    [
        ({"to_user": "qinghai.fin"}, 422, "invalid-input"),
        ({"to_department": "csrc"}, 422, "invalid-input"),
        ({"to_department": "hrss"}, 422, "invalid-input"),
        ({"to_user": "baoji.fin", "to_department": "fin"}, 422, "invalid-input"),
        ({}, 422, "invalid-input"),
    ],
    ids=["officer-of-another-jurisdiction", "not-in-roster", "already-there", "both", "neither"],
)
def test_a_transfer_stays_inside_the_jurisdiction_and_names_one_target(
    client: FlaskClient,
    users: Users,
    instance: dict[str, Any],
    body: dict[str, str],
    status: int,
    slug: str,
) -> None:
    task = hrss_task(client, users, instance)
    problem(act(client, users("baoji.hrss"), task["id"], "transfer", **body), status, slug)


# --- 委派 delegate -------------------------------------------------------------------------


def test_a_delegated_task_goes_back_to_the_delegator_who_completes_it(
    client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    hrss, agri = users("baoji.hrss"), users("baoji.agri")
    task = hrss_task(client, users, instance)
    lent = ok(
        act(client, hrss, task["id"], "delegate", to_user="baoji.agri", opinion="请核实从业人数")
    )
    assert (lent["owner"], lent["assignee"], lent["delegation"]) == (
        "baoji.hrss",
        "baoji.agri",
        "pending",
    )
    assert [t["id"] for t in open_tasks(client, agri)] == [task["id"]]

    for who in (agri, hrss):
        body = problem(complete(client, who, task["id"]), 409, "conflict")
        assert body["delegation"] == "pending"
    problem(act(client, hrss, task["id"], "resolve"), 403, "forbidden")

    back = ok(act(client, agri, task["id"], "resolve", opinion="人数属实"))
    assert (back["assignee"], back["delegation"]) == ("baoji.hrss", "resolved")
    problem(task_of(client, agri, task["id"]), 404, "not-found")
    ok(complete(client, hrss, task["id"]))

    given = opinions(client, users("admin"), instance["id"])
    assert [(o["action"], o["officer"], o["opinion"]) for o in given] == [
        ("delegate", "baoji.hrss", "请核实从业人数"),
        ("resolve", "baoji.agri", "人数属实"),
        ("complete", "baoji.hrss", ""),
    ]


def test_a_task_cannot_be_delegated_to_oneself_or_outside_the_jurisdiction(
    client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    task = hrss_task(client, users, instance)
    for to_user in ("baoji.hrss", "qinghai.agri", "designer"):
        problem(
            act(client, users("baoji.hrss"), task["id"], "delegate", to_user=to_user),
            422,
            "invalid-input",
        )


# --- 代理 proxy ----------------------------------------------------------------------------


def name_proxy(
    client: FlaskClient, headers: dict[str, str], proxy: str, days: float = 1, **body: Any
) -> Any:
    period = {
        "starts_at": MONDAY.isoformat(),
        "ends_at": (MONDAY + timedelta(days=days)).isoformat(),
    }
    return client.post(f"{API}/proxies", headers=headers, json={"proxy": proxy, **period, **body})


def test_a_proxy_sees_and_acts_on_the_absent_officers_tasks_during_the_period(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    clock = frozen_clock(app)
    agri = users("baoji.agri")
    task = hrss_task(client, users, instance)
    problem(task_of(client, agri, task["id"]), 404, "not-found")

    proxy = ok(name_proxy(client, users("baoji.hrss"), "baoji.agri", reason="出差"), 201)
    assert [p["id"] for p in ok(client.get(f"{API}/proxies", headers=agri))] == [proxy["id"]]
    assert [t["id"] for t in open_tasks(client, agri)] == [task["id"]]
    ok(complete(client, agri, task["id"]))
    [given] = opinions(client, users("admin"), instance["id"])
    assert (given["officer"], given["on_behalf_of"], given["department"]) == (
        "baoji.agri",
        "baoji.hrss",
        "hrss",
    )
    assert events_of(app, "proxy.created")[0].data["proxy"] == "baoji.agri"

    later = start(client, users("baoji.hrss"))
    clock.advance(days=2)
    problem(task_of(client, agri, hrss_task(client, users, later)["id"]), 404, "not-found")


def test_a_revoked_proxy_reaches_nothing_and_only_the_absent_officer_revokes(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    frozen_clock(app)
    task = hrss_task(client, users, instance)
    proxy = ok(name_proxy(client, users("baoji.hrss"), "baoji.agri"), 201)
    path = f"{API}/proxies/{proxy['id']}"
    problem(client.delete(path, headers=users("baoji.agri")), 403, "forbidden")
    problem(client.delete(path, headers=users("baoji.fin")), 404, "not-found")
    assert client.delete(path, headers=users("baoji.hrss")).status_code == 204
    problem(client.delete(path, headers=users("baoji.hrss")), 409, "conflict")
    problem(task_of(client, users("baoji.agri"), task["id"]), 404, "not-found")


@pytest.mark.parametrize(
    ("who", "body", "status", "slug"),
    [
        ("baoji.hrss", {"proxy": "qinghai.hrss"}, 422, "invalid-input"),
        ("baoji.hrss", {"proxy": "baoji.hrss"}, 422, "invalid-input"),
        ("baoji.hrss", {"proxy": "baoji.fin", "days": -1}, 422, "invalid-input"),
        ("baoji.fin", {"proxy": "baoji.agri", "user": "baoji.hrss"}, 403, "forbidden"),
        ("designer", {"proxy": "baoji.agri"}, 403, "forbidden"),
        ("admin", {"proxy": "baoji.agri", "user": "baoji.hrss"}, 201, None),
    ],
    ids=[
        "other-jurisdiction",
        "oneself",
        "period-ends-before-it-starts",
        "for-someone-else",
        "designer",
        "admin-for-an-officer",
    ],
)
def test_who_may_name_which_proxy(
    app: Flask,
    client: FlaskClient,
    users: Users,
    who: str,
    body: dict[str, Any],
    status: int,
    slug: str | None,
) -> None:
    frozen_clock(app)
    body = dict(body)
    days = body.pop("days", 1)
    response = name_proxy(client, users(who), days=days, **body)
    if slug is None:
        assert ok(response, status)["username"] == "baoji.hrss"
    else:
        problem(response, status, slug)


# --- 退回 return ---------------------------------------------------------------------------


def test_return_sends_the_matter_back_to_an_earlier_step_with_a_new_task(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    first = hrss_task(client, users, instance)
    fin = fin_task(client, users, instance)
    outcome = ok(
        act(
            client,
            users("baoji.fin"),
            fin["id"],
            "return",
            to_element="hrss_review",
            opinion="缺少吸纳就业协议",
        )
    )
    assert outcome["task"]["state"] == "cancelled"
    [again] = outcome["created"]
    assert (again["bpmn_id"], again["state"]) == ("hrss_review", "open") and again["id"] != first[
        "id"
    ]
    states = {
        t["id"]: t["state"] for t in tasks(client, users("admin"), instance_id=instance["id"])
    }
    assert states == {first["id"]: "completed", fin["id"]: "cancelled", again["id"]: "open"}

    entry = history(client, users("admin"), instance["id"])[-1]
    assert (entry["action"], entry["details"]["to_element"], entry["details"]["opinion"]) == (
        "return",
        "hrss_review",
        "缺少吸纳就业协议",
    )
    assert events_of(app, "task.returned")[0].data["reopened"] == [again["id"]]

    ok(complete(client, users("baoji.hrss"), again["id"]))
    ok(
        complete(
            client,
            users("baoji.fin"),
            the_open_task(client, users("admin"), instance["id"], "fin_review")["id"],
        )
    )
    assert get_instance(client, users("admin"), instance["id"])["status"] == "completed"
    assert [
        (o["action"], o["department"], o["decision"])
        for o in opinions(client, users("admin"), instance["id"])
    ] == [
        ("complete", "hrss", None),
        ("return", "fin", "return"),
        ("complete", "hrss", None),
        ("complete", "fin", None),
    ]
    assert_consistent(app)


@pytest.mark.parametrize(
    "target",
    [
        {"to_element": "hrss_review"},
        {"to_element": "fin_review"},
        {"to_task_id": "00000000-0000-0000-0000-000000000000"},
    ],
    ids=["the-open-task-itself", "a-later-step", "unknown-task"],
)
def test_return_to_a_task_that_never_ran_is_422(
    client: FlaskClient, users: Users, instance: dict[str, Any], target: dict[str, str]
) -> None:
    task = hrss_task(client, users, instance)
    body = problem(
        act(client, users("baoji.hrss"), task["id"], "return", opinion="退回", **target),
        422,
        "invalid-input",
    )
    assert "never ran" in body["detail"]
    assert task_of(client, users("baoji.hrss"), task["id"]).get_json()["state"] == "open"


def test_return_and_reject_need_an_opinion(
    client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    fin = fin_task(client, users, instance)
    for operation, body in (("return", {"to_element": "hrss_review"}), ("reject", {})):
        for opinion in ({}, {"opinion": "   "}):
            problem(
                act(client, users("baoji.fin"), fin["id"], operation, **body, **opinion),
                422,
                "invalid-input",
            )
    assert task_of(client, users("baoji.fin"), fin["id"]).get_json()["state"] == "open"


# --- 驳回 reject ---------------------------------------------------------------------------


def test_reject_ends_the_instance_as_rejected_with_its_reason(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    fin = fin_task(client, users, instance)
    outcome = ok(act(client, users("baoji.fin"), fin["id"], "reject", opinion="不符合奖补条件"))
    assert (outcome["instance"]["status"], outcome["instance"]["variables"]["result"]) == (
        "terminated",
        "rejected",
    )
    assert outcome["task"]["state"] == "cancelled"
    assert open_tasks(client, users("admin"), instance_id=instance["id"]) == []
    assert actions(history(client, users("admin"), instance["id"]))[-2:] == ["terminate", "reject"]
    [ended] = events_of(app, "instance.terminated")
    assert ended.data["reason"] == "驳回：不符合奖补条件"
    assert opinions(client, users("admin"), instance["id"])[-1]["decision"] == "reject"
    assert_consistent(app)


# --- 撤回 withdraw -------------------------------------------------------------------------


def test_withdraw_while_the_next_step_is_untouched_gives_the_task_back(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    first = hrss_task(client, users, instance)
    fin = fin_task(client, users, instance)
    outcome = ok(act(client, users("baoji.hrss"), first["id"], "withdraw", reason="材料有误"))
    [again] = outcome["created"]
    assert again["bpmn_id"] == "hrss_review" and again["state"] == "open"
    assert task_of(client, users("baoji.fin"), fin["id"]).get_json()["state"] == "cancelled"
    assert actions(history(client, users("admin"), instance["id"]))[-1] == "withdraw"
    assert events_of(app, "task.withdrawn")[0].data["undone"] == [fin["id"]]
    assert_consistent(app)


@pytest.mark.parametrize("next_step", ["claim", "complete"])
def test_withdraw_after_the_next_step_acted_is_409(
    client: FlaskClient, users: Users, instance: dict[str, Any], next_step: str
) -> None:
    first = hrss_task(client, users, instance)
    fin = fin_task(client, users, instance)
    if next_step == "claim":
        ok(client.post(f"{API}/tasks/{fin['id']}/claim", headers=users("baoji.fin"), json={}))
    else:
        ok(complete(client, users("baoji.fin"), fin["id"]))
    problem(act(client, users("baoji.hrss"), first["id"], "withdraw"), 409, "conflict")


def test_only_the_submitter_withdraws_and_only_a_completed_task(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    add_officer(app, "baoji.hrss2", "baoji", "hrss")
    first = hrss_task(client, users, instance)
    problem(act(client, users("baoji.hrss"), first["id"], "withdraw"), 409, "conflict")
    fin_task(client, users, instance)
    problem(act(client, users("baoji.hrss2"), first["id"], "withdraw"), 403, "forbidden")


# --- 催办 urge -----------------------------------------------------------------------------


def test_urge_reminds_the_next_step_at_most_once_an_hour(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    clock = frozen_clock(app)
    fin = fin_task(client, users, instance)
    ok(act(client, users("baoji.hrss"), fin["id"], "urge", message="请尽快办理"))
    [urged] = events_of(app, "task.urged")
    assert (urged.data["department"], urged.data["by"], urged.data["message"]) == (
        "fin",
        "baoji.hrss",
        "请尽快办理",
    )

    clock.advance(minutes=59)
    too_soon = act(client, users("baoji.hrss"), fin["id"], "urge")
    problem(too_soon, 429, "too-many-requests")
    assert too_soon.headers["Retry-After"] == "60"
    clock.advance(minutes=1)
    ok(act(client, users("baoji.hrss"), fin["id"], "urge"))
    assert len(events_of(app, "task.urged")) == 2
    assert actions(history(client, users("admin"), instance["id"])).count("urge") == 2


def test_only_the_starter_a_participant_or_an_admin_urges(
    client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    fin = fin_task(client, users, instance)
    problem(act(client, users("baoji.agri"), fin["id"], "urge"), 403, "forbidden")
    problem(act(client, users("qinghai.hrss"), fin["id"], "urge"), 404, "not-found")
    ok(act(client, users("admin"), fin["id"], "urge"))


# --- 抄送 copy -----------------------------------------------------------------------------


def test_a_copy_can_be_read_by_its_recipients_but_not_acted_on(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    task = hrss_task(client, users, instance)
    copies = ok(
        act(
            client,
            users("baoji.hrss"),
            task["id"],
            "cc",
            users=["baoji.agri"],
            departments=["culture"],
            note="供参阅",
        ),
        201,
    )
    assert [(c["username"], c["department"]) for c in copies] == [
        ("baoji.agri", None),
        (None, "culture"),
    ]
    [event] = events_of(app, "task.cc")
    assert (event.data["users"], event.data["departments"]) == (["baoji.agri"], ["culture"])

    for reader in ("baoji.agri", "baoji.culture"):
        headers = users(reader)
        assert [t["id"] for t in tasks(client, headers, scope="cc")] == [task["id"]]
        assert ok(task_of(client, headers, task["id"]))["id"] == task["id"]
        assert get_instance(client, headers, instance["id"])["id"] == instance["id"]
        problem(complete(client, headers, task["id"]), 403, "forbidden")
        problem(
            client.post(f"{API}/tasks/{task['id']}/claim", headers=headers, json={}),
            403,
            "forbidden",
        )
        assert open_tasks(client, headers) == []
    assert tasks(client, users("baoji.edu"), scope="cc") == []
    problem(task_of(client, users("baoji.edu"), task["id"]), 404, "not-found")


def test_copies_go_to_the_tasks_jurisdiction_only(
    client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    task = hrss_task(client, users, instance)
    for body in ({"users": ["qinghai.agri"]}, {"departments": ["csrc"]}, {}):
        problem(act(client, users("baoji.hrss"), task["id"], "cc", **body), 422, "invalid-input")


# --- 意见 opinions ------------------------------------------------------------------------


def test_the_opinion_history_is_in_order_with_department_and_officer(
    client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    task = hrss_task(client, users, instance)
    data = {"decision": "approve", "opinion": "初审同意"}
    ok(complete(client, users("baoji.hrss"), task["id"], data))
    fin = the_open_task(client, users("admin"), instance["id"], "fin_review")
    problem(
        complete(client, users("baoji.fin"), fin["id"], {"decision": "reject"}),
        422,
        "invalid-input",
    )
    ok(
        complete(
            client, users("baoji.fin"), fin["id"], {"decision": "reject", "opinion": "超出预算"}
        )
    )
    given = opinions(client, users("baoji.culture"), instance["id"])
    assert [
        (o["department"], o["officer"], o["action"], o["decision"], o["opinion"]) for o in given
    ] == [
        ("hrss", "baoji.hrss", "complete", "approve", "初审同意"),
        ("fin", "baoji.fin", "complete", "reject", "超出预算"),
    ]
    assert [o["task_name"] for o in given] == ["人社初审", "财政复审"]
    problem(
        client.get(f"{API}/instances/{instance['id']}/opinions", headers=users("qinghai.hrss")),
        404,
        "not-found",
    )
