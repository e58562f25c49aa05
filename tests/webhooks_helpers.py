"""Shared pieces of the webhooks tests: settings, job handlers, events and verification.

Loaded as a pytest plugin by ``tests/conftest.py``, so its fixtures are everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook

from engine import events, jobs
from engine.clock import FakeClock
from engine.context import EngineContext
from engine.identity import SYSTEM
from engine.unit_of_work import SqlUnitOfWork
from webhooks import subscriptions, worker
from webhooks.models import Delivery, Subscription
from webhooks.settings import DEFAULT_SCHEDULE, WebhookSettings, no_jitter
from webhooks.ssrf import AllowList, TargetPolicy
from webhooks.testing import Received

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
LOCAL = AllowList.parse("127.0.0.1")


def settings(
    allow: AllowList = LOCAL,
    schedule: Sequence[timedelta] = DEFAULT_SCHEDULE,
    demo: bool = False,
    **kwargs: Any,
) -> WebhookSettings:
    """Deterministic settings: no jitter, a short timeout, 127.0.0.1 allowed."""
    kwargs.setdefault("timeout_seconds", 5.0)
    kwargs.setdefault("jitter", no_jitter)
    return WebhookSettings(
        policy=TargetPolicy(allow=allow, demo=demo), retry_schedule=tuple(schedule), **kwargs
    )


@pytest.fixture
def install_webhooks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``install_webhooks(settings)`` registers the webhooks job kinds for this test only.

    Other tests count the jobs a run executes, so the registry is restored afterwards.
    """
    monkeypatch.setattr(jobs, "_handlers", dict(jobs._handlers))
    yield worker.install


@pytest.fixture
def hook_ctx(app: Flask, install_webhooks: Any) -> EngineContext:
    """The app's engine context on a fake clock, with the webhooks job kinds installed."""
    install_webhooks(settings())
    app.extensions["huiqian.webhooks"] = settings()
    context = app.extensions["huiqian.engine"]
    context.clock = FakeClock(START)
    return context


def emit(
    ctx: EngineContext,
    type_: str = "instance.started",
    *,
    jurisdiction: str | None = "baoji",
    process_key: str | None = "co_review",
    data: dict[str, Any] | None = None,
) -> str:
    with SqlUnitOfWork(ctx.db) as uow:
        event = events.record(
            uow, type_, data or {"n": 1}, at=ctx.clock(), jurisdiction=jurisdiction
        )
        event.process_key = process_key
        uow.commit()
        return event.id


def subscribe(
    ctx: EngineContext,
    url: str,
    event_types: Sequence[str] = ("instance.started",),
    hook_settings: WebhookSettings | None = None,
    **filters: Any,
) -> subscriptions.Created:
    return subscriptions.create(
        ctx, hook_settings or settings(), SYSTEM, url=url, event_types=event_types, **filters
    )


def deliveries(ctx: EngineContext, subscription_id: str | None = None) -> list[Delivery]:
    with ctx.db.read_session() as s:
        query = select(Delivery).order_by(Delivery.created_at, Delivery.id)
        if subscription_id:
            query = query.where(Delivery.subscription_id == subscription_id)
        found = list(s.scalars(query))
        for delivery in found:
            delivery.attempt_log  # noqa: B018 - load before the session closes
        return found


def subscription(ctx: EngineContext, subscription_id: str) -> Subscription:
    with ctx.db.read_session() as s:
        found = s.get(Subscription, subscription_id)
        assert found is not None
        return found


def verified(request: Received, secret: str) -> dict[str, Any]:
    """The payload, if ``secret`` verifies the request with the standardwebhooks library."""
    return Webhook(secret).verify(request.body, request.headers)
