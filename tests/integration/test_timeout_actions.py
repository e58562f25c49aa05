"""``huiqian:timeoutAction``: what the ``task_due`` job does when a task's due date passes.

remind → ``task.reminder``; auto_approve / auto_reject → the system completes the task with
its form's answer and an opinion; escalate → a copy to the lead department and
``task.escalated``.  Deployment refuses an unknown action and an action without a due date.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from io import BytesIO
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.api_helpers import complete, elapse, get_instance, history, ok, problem, tasks
from tests.approval_helpers import Users, actions, events_of, frozen_clock, opinions
from tests.conftest import FIXTURES

TIMEOUTS = FIXTURES / "timeout_actions.bpmn"


@pytest.fixture
def users(login: Users) -> Users:
    return cache(login)


@pytest.fixture
def instance(
    app: Flask, client: FlaskClient, users: Users, deploy: Callable[..., Any]
) -> dict[str, Any]:
    frozen_clock(app)
    deploy(TIMEOUTS)
    body = {"process_key": "timeout_actions", "variables": {}}
    return ok(client.post("/api/v1/instances", headers=users("baoji.hrss"), json=body), 201)


def by_element(client: FlaskClient, users: Users, instance: dict[str, Any]) -> dict[str, Any]:
    found = tasks(client, users("admin"), instance_id=instance["id"])
    return {task["bpmn_id"]: task for task in found}


def test_nothing_happens_before_the_due_date(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    elapse(app, minutes=59)
    assert {t["state"] for t in by_element(client, users, instance).values()} == {"open"}
    assert events_of(app, "task.overdue") == []


def test_each_timeout_action_applies_at_the_due_date(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    elapse(app, hours=1, seconds=1)
    found = by_element(client, users, instance)
    assert len(events_of(app, "task.overdue")) == 4

    assert found["remind_me"]["state"] == "open"
    assert [e.data["department"] for e in events_of(app, "task.reminder")] == ["fin"]

    assert (found["approve_me"]["state"], found["approve_me"]["completed_by"]) == (
        "completed",
        "system",
    )
    assert found["approve_me"]["result"] == {
        "approved": True,
        "opinion": "超时未办理，系统自动同意",
    }
    assert found["reject_me"]["result"] == {
        "decision": "reject",
        "opinion": "超时未办理，系统自动驳回",
    }

    assert found["escalate_me"]["state"] == "open"
    [escalated] = events_of(app, "task.escalated")
    assert escalated.data["escalated_to"] == ["hrss"]
    copied = tasks(client, users("baoji.hrss"), scope="cc")
    assert [t["bpmn_id"] for t in copied] == ["escalate_me"]

    given = {o["bpmn_id"]: o for o in opinions(client, users("admin"), instance["id"])}
    assert (given["approve_me"]["officer"], given["approve_me"]["decision"]) == (
        "system",
        "approve",
    )
    assert given["reject_me"]["decision"] == "reject"
    assert {"overdue", "remind", "escalate", "complete"} <= set(
        actions(history(client, users("admin"), instance["id"]))
    )

    ok(complete(client, users("baoji.fin"), found["remind_me"]["id"]))
    ok(complete(client, users("baoji.culture"), found["escalate_me"]["id"]))
    assert get_instance(client, users("admin"), instance["id"])["status"] == "completed"


def test_a_task_done_before_its_due_date_is_left_alone(
    app: Flask, client: FlaskClient, users: Users, instance: dict[str, Any]
) -> None:
    approve = by_element(client, users, instance)["approve_me"]
    ok(
        complete(
            client, users("baoji.agri"), approve["id"], {"approved": False, "opinion": "不同意"}
        )
    )
    elapse(app, hours=2)
    done = by_element(client, users, instance)["approve_me"]
    assert (done["completed_by"], done["result"]["approved"]) == ("baoji.agri", False)


@pytest.mark.parametrize(
    ("replace", "mentioned"),
    [
        ('huiqian:timeoutAction="remind"', 'huiqian:timeoutAction="explode"'),
        ('huiqian:dueIn="PT1H" huiqian:timeoutAction="remind"', 'huiqian:timeoutAction="remind"'),
    ],
    ids=["unknown-action", "action-without-due-date"],
)
def test_deployment_refuses_a_timeout_action_that_cannot_apply(
    client: FlaskClient, users: Users, replace: str, mentioned: str
) -> None:
    xml = TIMEOUTS.read_text().replace(replace, mentioned)
    response = client.post(
        "/api/v1/definitions",
        headers=users("designer"),
        data={"file": (BytesIO(xml.encode()), "timeouts.bpmn")},
        content_type="multipart/form-data",
    )
    body = problem(response, 422, "invalid-definition")
    assert body["element_id"] == "remind_me"
