"""Human-task rows stay O(1) as a co-review grows (docs/performance.md, "Large N").

A co-review of 50 departments on a synthetic jurisdiction pack, on SQLite and PostgreSQL:

* a row's ``data`` leaves out the roster-sized start variables (``roster``,
  ``measure_departments``), which stay in the instance's variables;
* a row stores its form's key, and the API still answers ``form: {key, schema}``;
  rows written when they kept a copy of the schema still read and validate with it;
* completing one of the 50 tasks loads that task's row and no other.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select, update

from engine import repository
from engine.db import Database
from engine.human_tasks import ROSTER_SIZED_VARIABLES
from engine.models import HumanTask
from tests.api_helpers import (
    app_with_synthetic_pack,
    complete,
    dispose,
    get_instance,
    ok,
    problem,
    start,
    tasks,
)

Users = Callable[[str], dict[str, str]]

N = 50
DEPARTMENTS = [f"dept{number:02d}" for number in range(1, N + 1)]
LIBRARY = Path(__file__).resolve().parents[2] / "bpmn"
CO_REVIEW = LIBRARY / "co_review.bpmn"
FORM_KEY = "co_review_opinion"
FORM_SCHEMA = json.loads((LIBRARY / "forms" / f"{FORM_KEY}.json").read_text(encoding="utf-8"))


@pytest.fixture
def app(database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    app = app_with_synthetic_pack(database.url, tmp_path, monkeypatch, N)
    yield app
    dispose(app)


@pytest.fixture
def users(login: Users) -> Users:
    return cache(login)


@pytest.fixture
def start_co_review(
    client: FlaskClient, users: Users, deploy: Callable[..., Any]
) -> Callable[..., dict[str, Any]]:
    deploy(CO_REVIEW)

    def start_one(**variables: Any) -> dict[str, Any]:
        variables = {"jurisdiction": "synthetic", "measure": "(一)", **variables}
        return start(client, users("integrator"), key="co_review", variables=variables)

    return start_one


def rows(app: Flask, instance_id: str) -> list[HumanTask]:
    with app.extensions["huiqian.engine"].db.read_session() as s:
        query = select(HumanTask).where(HumanTask.instance_id == instance_id)
        return list(s.scalars(query.order_by(HumanTask.department)))


def by_department(client: FlaskClient, users: Users, instance_id: str) -> dict[str, Any]:
    found = tasks(client, users("admin"), instance_id=instance_id, page_size=100)
    return {task["department"]: task for task in found}


def test_rows_leave_out_the_roster_and_keep_the_form_by_key(
    app: Flask, client: FlaskClient, users: Users, start_co_review: Callable[..., Any]
) -> None:
    instance = start_co_review()
    variables = get_instance(client, users("admin"), instance["id"])["variables"]
    assert variables["roster"] == variables["measure_departments"] == DEPARTMENTS

    stored = rows(app, instance["id"])
    assert [row.department for row in stored] == DEPARTMENTS
    for row in stored:
        assert not ROSTER_SIZED_VARIABLES & row.data.keys()
        assert row.data["department"] == row.department
        assert row.form == {"key": FORM_KEY}
    # O(1): no value in a row's data grows with the roster.
    assert max(len(json.dumps(row.data)) for row in stored) < 20 * N

    listed = by_department(client, users, instance["id"])
    own = ok(
        client.get(f"/api/v1/tasks/{listed['dept07']['id']}", headers=users("synthetic.dept07"))
    )
    assert own["form"] == listed["dept07"]["form"] == {"key": FORM_KEY, "schema": FORM_SCHEMA}
    assert not ROSTER_SIZED_VARIABLES & own["data"].keys()

    # The form is still enforced: a rejection needs an opinion.
    body = problem(
        complete(client, users("synthetic.dept07"), own["id"], {"decision": "reject"}),
        422,
        "invalid-input",
    )
    assert [error["field"] for error in body["errors"]] == ["opinion"]
    done = ok(complete(client, users("synthetic.dept07"), own["id"], {"decision": "approve"}))
    assert done["form"] == {"key": FORM_KEY, "schema": FORM_SCHEMA}
    assert done["result"] == {"decision": "approve", "opinion": ""}, "the form's defaults apply"


def test_a_row_that_kept_a_copy_of_its_schema_reads_and_validates_with_that_copy(
    app: Flask, client: FlaskClient, users: Users, start_co_review: Callable[..., Any]
) -> None:
    instance = start_co_review()
    task = by_department(client, users, instance["id"])["dept03"]
    kept = {
        "type": "object",
        "properties": {
            "decision": {"type": "string"},
            "opinion": {"type": "string", "minLength": 2},
        },
        "required": ["decision", "opinion"],
    }
    with app.extensions["huiqian.engine"].db.write_session() as s:
        s.execute(
            update(HumanTask)
            .where(HumanTask.id == task["id"])
            .values(form={"key": FORM_KEY, "schema": kept})
        )
        s.commit()

    officer = users("synthetic.dept03")
    read = ok(client.get(f"/api/v1/tasks/{task['id']}", headers=officer))
    assert read["form"] == {"key": FORM_KEY, "schema": kept}
    body = problem(
        complete(client, officer, task["id"], {"decision": "approve"}), 422, "invalid-input"
    )
    assert [error["field"] for error in body["errors"]] == ["opinion"]
    ok(complete(client, officer, task["id"], {"decision": "approve", "opinion": "同意"}))


class Meter:
    """Counts the HumanTask objects the ORM builds from rows and the statements that read rows."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.task_objects = 0
        self.full_task_selects = 0

    def _loaded(self, *_args: Any) -> None:
        self.task_objects += 1

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "human_tasks.data" in statement:
            self.full_task_selects += 1

    def __enter__(self) -> Meter:
        event.listen(HumanTask, "load", self._loaded)
        event.listen(HumanTask, "refresh", self._loaded)
        event.listen(self.db.engine, "before_cursor_execute", self._statement)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(HumanTask, "load", self._loaded)
        event.remove(HumanTask, "refresh", self._loaded)
        event.remove(self.db.engine, "before_cursor_execute", self._statement)


def test_completing_one_of_fifty_tasks_loads_only_that_task(
    app: Flask, client: FlaskClient, users: Users, start_co_review: Callable[..., Any]
) -> None:
    instance = start_co_review()
    listed = by_department(client, users, instance["id"])
    officer = users("synthetic.dept11")

    with Meter(app.extensions["huiqian.engine"].db) as meter:
        ok(complete(client, officer, listed["dept11"]["id"], {"decision": "approve"}))

    assert meter.task_objects <= 2, f"{meter.task_objects} task rows loaded to complete one"
    assert meter.full_task_selects <= 1
    states = {row.department: row.state for row in rows(app, instance["id"])}
    assert states == {code: "completed" if code == "dept11" else "open" for code in DEPARTMENTS}


def test_rows_are_created_and_cancelled_in_chunks_of_ids(
    app: Flask,
    client: FlaskClient,
    users: Users,
    start_co_review: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks of 7 ids: 50 new tasks at the start, 49 cancelled by the first approval (或签)."""
    monkeypatch.setattr(repository, "IN_CHUNK", 7)
    instance = start_co_review(rule="any")
    assert len(rows(app, instance["id"])) == N
    listed = by_department(client, users, instance["id"])
    ok(complete(client, users("synthetic.dept01"), listed["dept01"]["id"], {"decision": "approve"}))

    assert get_instance(client, users("admin"), instance["id"])["variables"]["result"] == "approved"
    stored = rows(app, instance["id"])
    assert [row.state for row in stored] == ["completed"] + ["cancelled"] * (N - 1)
    for row in stored[1:]:
        assert (row.version, row.completed_at is not None) == (2, True)
    problem(
        complete(
            client, users("synthetic.dept50"), listed["dept50"]["id"], {"decision": "approve"}
        ),
        409,
        "conflict",
    )
