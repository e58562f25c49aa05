"""HTTP helpers for the approval operations' tests (docs/approval-operations.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine import consistency
from engine.clock import FakeClock
from engine.models import Event

Users = Callable[[str], dict[str, str]]
API = "/api/v1"
MONDAY = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def act(
    client: FlaskClient, headers: dict[str, str], task_id: str, operation: str, **body: Any
) -> TestResponse:
    """``POST /tasks/{task_id}/{operation}`` with ``body`` as JSON."""
    return client.post(f"{API}/tasks/{task_id}/{operation}", headers=headers, json=body)


def opinions(client: FlaskClient, headers: dict[str, str], instance_id: str) -> list[Any]:
    response = client.get(f"{API}/instances/{instance_id}/opinions", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def actions(history: list[dict[str, Any]]) -> list[str]:
    return [entry["action"] for entry in history]


def events_of(app: Flask, type_: str) -> list[Event]:
    with app.extensions["huiqian.engine"].db.read_session() as s:
        return list(s.scalars(select(Event).where(Event.type == type_).order_by(Event.at)))


def frozen_clock(app: Flask) -> FakeClock:
    """Give the app's engine a FakeClock at ``MONDAY`` and return it."""
    ctx = app.extensions["huiqian.engine"]
    ctx.clock = FakeClock(MONDAY)
    return ctx.clock


def assert_consistent(app: Flask) -> None:
    """``huiqian check``'s invariants hold (engine.consistency)."""
    assert consistency.problems(app.extensions["huiqian.engine"].db) == []
