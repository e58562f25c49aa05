"""Webhook subscriptions: list, create (the secret is shown once), deliveries, redeliver.

The page that shows a new secret is the answer to the POST itself, not a redirect:
the secret never travels through the session cookie or a flash message, and a
reload cannot show it again.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import Conflict, InvalidInput, NotFound
from engine.events import EVENT_TYPES
from engine.repository import Page
from services.extensions import engine_context
from services.ui.admin import admin_bp
from services.ui.core import principal
from webhooks import subscriptions
from webhooks.models import FINAL_STATES
from webhooks.settings import WebhookSettings

PAGE_SIZE = 50


def _settings() -> WebhookSettings:
    return current_app.extensions["huiqian.webhooks"]


def _render(values: dict[str, Any], **extra: Any) -> ResponseReturnValue:
    status = extra.pop("status", 200)
    found, _total = subscriptions.list_subscriptions(
        engine_context(), principal(), Page(1, PAGE_SIZE)
    )
    page = render_template(
        "admin/webhooks.html",
        subscriptions=found,
        event_types=EVENT_TYPES,
        jurisdictions=engine_context().jurisdictions,
        values=values,
        **extra,
    )
    return page, status


@admin_bp.get("/webhooks")
def webhooks() -> ResponseReturnValue:
    return _render({"event_types": [], "enabled": True})


@admin_bp.post("/webhooks")
def create_webhook() -> ResponseReturnValue:
    values = {
        "url": request.form.get("url", "").strip(),
        "event_types": request.form.getlist("event_types"),
        "jurisdiction": request.form.get("jurisdiction") or None,
        "process_key": request.form.get("process_key", "").strip() or None,
        "enabled": request.form.get("enabled") == "on",
    }
    try:
        created = subscriptions.create(engine_context(), _settings(), principal(), **values)
    except InvalidInput as error:
        return _render(values, error=error.detail, status=422)
    return _render({"event_types": [], "enabled": True}, created=created, status=201)


@admin_bp.get("/webhooks/<subscription_id>")
def webhook(subscription_id: str) -> ResponseReturnValue:
    ctx, user = engine_context(), principal()
    page = Page(max(request.args.get("page", 1, type=int), 1), PAGE_SIZE)
    deliveries, total = subscriptions.list_deliveries(ctx, user, subscription_id, page)
    return render_template(
        "admin/webhook.html",
        subscription=subscriptions.get(ctx, user, subscription_id),
        deliveries=deliveries,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        final_states=FINAL_STATES,
    )


@admin_bp.post("/webhooks/deliveries/<delivery_id>/redeliver")
def redeliver(delivery_id: str) -> ResponseReturnValue:
    subscription_id = request.form.get("subscription_id", "")
    try:
        delivery = subscriptions.redeliver(engine_context(), principal(), delivery_id)
    except (Conflict, NotFound) as error:
        flash(_("未能重新投递：%(reason)s", reason=error.detail), "error")
    else:
        subscription_id = delivery.subscription_id
        flash(_("已安排重新投递。"), "success")
    if not subscription_id:
        return redirect(url_for("admin.webhooks"))
    return redirect(url_for("admin.webhook", subscription_id=subscription_id))
