"""Instance modification: admins cancel active elements and start a new path before another.

Task rows, timer jobs and the audit trail follow the moved tokens, and the database's
consistency check passes afterwards.
"""

from __future__ import annotations

from sqlalchemy import select

from engine import consistency
from engine.models import Job
from services.config import LIBRARY_DIR
from tests.api_helpers import (
    TWO_LANES,
    complete_step,
    get_instance,
    history,
    ok,
    open_tasks,
    problem,
    start,
    tasks,
    the_open_task,
)


def _modify(client, headers, instance_id, **body):
    return client.post(f"/api/v1/instances/{instance_id}/modify", headers=headers, json=body)


def _states(client, headers, instance_id):
    return sorted(
        (t["bpmn_id"], t["state"]) for t in tasks(client, headers, instance_id=instance_id)
    )


def test_skipping_a_step_cancels_its_task_and_opens_the_next(client, login, deploy, database):
    deploy(TWO_LANES)
    admin = login("admin")
    instance = start(client, admin, jurisdiction="baoji")

    modified = ok(
        _modify(
            client,
            admin,
            instance["id"],
            cancel=["hrss_review"],
            start_before="fin_review",
            reason="人社已线下审核",
        )
    )

    assert modified["status"] == "running"
    assert _states(client, admin, instance["id"]) == [
        ("fin_review", "open"),
        ("hrss_review", "cancelled"),
    ]
    (entry,) = [e for e in history(client, admin, instance["id"]) if e["action"] == "modify"]
    assert entry["details"] == {
        "cancelled": ["hrss_review"],
        "started_before": "fin_review",
        "reason": "人社已线下审核",
    }
    assert consistency.problems(database) == []
    complete_step(client, login("baoji.fin"), instance["id"], "fin_review", {})
    assert get_instance(client, admin, instance["id"])["status"] == "completed"
    assert consistency.problems(database) == []


def test_sending_an_instance_back_opens_the_earlier_task_again(client, login, deploy, database):
    deploy(TWO_LANES)
    admin, hrss = login("admin"), login("baoji.hrss")
    instance = start(client, admin, jurisdiction="baoji")
    first = the_open_task(client, admin, instance["id"], "hrss_review")
    complete_step(client, hrss, instance["id"], "hrss_review", {"note": "first pass"})

    ok(_modify(client, admin, instance["id"], cancel=["fin_review"], start_before="hrss_review"))

    again = the_open_task(client, hrss, instance["id"], "hrss_review")
    assert again["id"] != first["id"]
    assert _states(client, admin, instance["id"]) == [
        ("fin_review", "cancelled"),
        ("hrss_review", "completed"),
        ("hrss_review", "open"),
    ]
    complete_step(client, hrss, instance["id"], "hrss_review", {})
    complete_step(client, login("baoji.fin"), instance["id"], "fin_review", {})
    assert get_instance(client, admin, instance["id"])["status"] == "completed"
    assert consistency.problems(database) == []


def test_cancelling_a_co_review_cancels_every_department_and_its_deadlines(
    client, login, deploy, database
):
    deploy(LIBRARY_DIR / "co_review.bpmn")
    admin = login("admin")
    instance = start(
        client,
        admin,
        key="co_review",
        jurisdiction="baoji",
        variables={"departments": ["hrss", "fin", "agri"]},
    )
    assert len(open_tasks(client, admin, instance_id=instance["id"])) == 3

    ok(_modify(client, admin, instance["id"], cancel=["review"], start_before="consolidate"))

    finished = get_instance(client, admin, instance["id"])
    assert finished["status"] == "completed" and finished["variables"]["result"] == "rejected"
    assert {t["state"] for t in tasks(client, admin, instance_id=instance["id"])} == {"cancelled"}
    with database.read_session() as s:
        pending = s.scalars(
            select(Job).where(Job.instance_id == instance["id"], Job.state == "pending")
        ).all()
    assert [job.kind for job in pending if job.kind == "timer"] == []
    assert consistency.problems(database) == []


def test_elements_that_are_not_active_or_do_not_exist_are_refused(client, login, deploy):
    deploy(TWO_LANES)
    admin = login("admin")
    instance = start(client, admin, jurisdiction="baoji")
    body = problem(
        _modify(client, admin, instance["id"], cancel=["fin_review"], start_before="hrss_review"),
        422,
        "invalid-input",
    )
    assert body["active"] == ["hrss_review"] and "'fin_review'" in body["detail"]
    problem(_modify(client, admin, instance["id"], start_before="nowhere"), 422, "invalid-input")
    problem(_modify(client, admin, instance["id"]), 422, "invalid-input")
    problem(
        _modify(client, login("baoji.hrss"), instance["id"], cancel=["hrss_review"]),
        403,
        "forbidden",
    )
    assert _states(client, admin, instance["id"]) == [("hrss_review", "open")]
