"""Webhook subscriptions, their secrets and their delivery log (admins and integrators)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from engine.repository import Page
from services.auth import current_principal, require_login
from services.extensions import engine_context
from services.schemas import (
    RotateSecretSchema,
    WebhookDeliverySchema,
    WebhookSubscriptionCreatedSchema,
    WebhookSubscriptionInputSchema,
    WebhookSubscriptionSchema,
    WebhookSubscriptionUpdateSchema,
)
from webhooks import subscriptions
from webhooks.settings import WebhookSettings

blp = Blueprint("webhooks", __name__, description="Outbound webhooks (Standard Webhooks)")
blp.before_request(require_login)
BEARER = [{"bearer": []}]


def _settings() -> WebhookSettings:
    return current_app.extensions["huiqian.webhooks"]


def _page(pagination_parameters: Any) -> Page:
    return Page(pagination_parameters.page, pagination_parameters.page_size)


@blp.route("/webhooks/subscriptions")
class Subscriptions(MethodView):
    @blp.response(200, WebhookSubscriptionSchema(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, pagination_parameters: Any) -> Any:
        items, total = subscriptions.list_subscriptions(
            engine_context(), current_principal(), _page(pagination_parameters)
        )
        pagination_parameters.item_count = total
        return items

    @blp.arguments(WebhookSubscriptionInputSchema)
    @blp.response(201, WebhookSubscriptionCreatedSchema)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any]) -> Any:
        """Subscribe; the answer holds the signing secret, shown this once."""
        return subscriptions.create(engine_context(), _settings(), current_principal(), **body)


@blp.route("/webhooks/subscriptions/<subscription_id>")
class SubscriptionById(MethodView):
    @blp.response(200, WebhookSubscriptionSchema)
    @blp.doc(security=BEARER)
    def get(self, subscription_id: str) -> Any:
        return subscriptions.get(engine_context(), current_principal(), subscription_id)

    @blp.arguments(WebhookSubscriptionUpdateSchema(partial=True))
    @blp.response(200, WebhookSubscriptionSchema)
    @blp.doc(security=BEARER)
    def patch(self, body: dict[str, Any], subscription_id: str) -> Any:
        version = body.pop("version", None)
        return subscriptions.update(
            engine_context(), _settings(), current_principal(), subscription_id, body, version
        )

    @blp.response(204)
    @blp.doc(security=BEARER)
    def delete(self, subscription_id: str) -> None:
        subscriptions.delete(engine_context(), current_principal(), subscription_id)


@blp.route("/webhooks/subscriptions/<subscription_id>/rotate-secret")
class RotateSecret(MethodView):
    @blp.arguments(RotateSecretSchema)
    @blp.response(200, WebhookSubscriptionCreatedSchema)
    @blp.doc(security=BEARER)
    def post(self, body: dict[str, Any], subscription_id: str) -> Any:
        """A new secret (shown this once); the old one keeps signing during the overlap."""
        overlap = body.get("overlap_seconds")
        return subscriptions.rotate_secret(
            engine_context(),
            _settings(),
            current_principal(),
            subscription_id,
            None if overlap is None else timedelta(seconds=overlap),
        )


@blp.route("/webhooks/subscriptions/<subscription_id>/deliveries")
class Deliveries(MethodView):
    @blp.response(200, WebhookDeliverySchema(many=True))
    @blp.paginate()
    @blp.doc(security=BEARER)
    def get(self, subscription_id: str, pagination_parameters: Any) -> Any:
        """The delivery log, newest first, with every attempt."""
        items, total = subscriptions.list_deliveries(
            engine_context(), current_principal(), subscription_id, _page(pagination_parameters)
        )
        pagination_parameters.item_count = total
        return items


@blp.route("/webhooks/deliveries/<delivery_id>/redeliver")
class Redeliver(MethodView):
    @blp.response(202, WebhookDeliverySchema)
    @blp.doc(security=BEARER)
    def post(self, delivery_id: str) -> Any:
        """Send a finished delivery's event again (same webhook-id)."""
        return subscriptions.redeliver(engine_context(), current_principal(), delivery_id)
