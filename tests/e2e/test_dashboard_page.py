"""The dashboard: open and overdue tasks per department, co-review lead times."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from engine.models import HumanTask, utcnow
from tests.api_helpers import TWO_LANES, complete, start, the_open_task
from tests.ui_helpers import sign_in

CO_REVIEW = Path(__file__).resolve().parents[2] / "bpmn" / "co_review.bpmn"
Login = Callable[[str], dict[str, str]]


def chart(client: FlaskClient, kind: str) -> dict[str, Any]:
    """The data of the dashboard's chart ``kind`` (``load`` or ``lead_times``)."""
    text = client.get("/dashboard/").get_data(as_text=True)
    found = re.search(rf'data-chart="([^"]*)" data-kind="{kind}"', text)
    assert found, f"no {kind} chart"
    return json.loads(html.unescape(found.group(1)))


def test_open_and_overdue_tasks_are_counted_per_department(
    app: Flask, client: FlaskClient, deploy: Callable[..., Any], login: Login
) -> None:
    deploy(TWO_LANES)
    admin = login("admin")
    for _ in range(3):
        start(client, admin, jurisdiction="baoji")
    with app.extensions["huiqian.engine"].db.write_session() as s:
        first = s.query(HumanTask).order_by(HumanTask.created_at).first()
        s.execute(
            update(HumanTask)
            .where(HumanTask.id == first.id)
            .values(due_at=utcnow() - timedelta(hours=1))
        )
        s.commit()
    sign_in(client, "admin")
    load = chart(client, "load")
    assert load["labels"] == ["市人社局"]
    on_time, overdue = load["series"]
    assert (on_time["data"], overdue["data"]) == ([2], [1])


def test_an_officer_sees_only_their_own_department(
    client: FlaskClient, deploy: Callable[..., Any], login: Login
) -> None:
    deploy(TWO_LANES)
    admin = login("admin")
    instance = start(client, admin, jurisdiction="baoji")
    hrss_task = the_open_task(client, admin, instance["id"], "hrss_review")
    complete(client, admin, hrss_task["id"], {})
    start(client, admin, jurisdiction="baoji")
    sign_in(client, "baoji.fin")
    load = chart(client, "load")
    assert len(load["labels"]) == 1 and load["labels"][0] == "市财政局"
    assert [series["data"] for series in load["series"]] == [[1], [0]]


def test_completed_co_reviews_fall_into_their_lead_time_bucket(
    app: Flask, client: FlaskClient, deploy: Callable[..., Any], login: Login
) -> None:
    deploy(CO_REVIEW)
    ctx = app.extensions["huiqian.engine"]
    officer = login("baoji.hrss")
    started = datetime(2026, 3, 2, 9, 0, tzinfo=utcnow().tzinfo)
    ctx.clock = lambda: started
    body = {"jurisdiction": "baoji", "variables": {"departments": ["hrss"]}}
    instance = start(client, officer, "co_review", **body)
    task = the_open_task(client, officer, instance["id"], "review")
    ctx.clock = lambda: started + timedelta(days=2, hours=3)
    complete(client, officer, task["id"], {"decision": "approve"})
    sign_in(client, "baoji.hrss")
    lead_times = chart(client, "lead_times")
    assert lead_times["labels"][:3] == ["0–1 天", "1–3 天", "3–7 天"]
    assert lead_times["series"][0]["data"] == [0, 1, 0, 0, 0, 0]
