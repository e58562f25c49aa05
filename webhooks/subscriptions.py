"""What admins and integrators can do with webhook subscriptions and their delivery log.

Each function is one transaction and checks who may call it.  A secret leaves
this module only inside a ``Created`` (create and rotate); every other answer
is the subscription row, whose schema has no secret field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from engine.context import EngineContext
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.events import EVENT_TYPES
from engine.identity import Principal, Role
from engine.repository import Page, paginate
from engine.unit_of_work import SqlUnitOfWork
from webhooks import signing, ssrf
from webhooks.fanout import enqueue
from webhooks.models import FINAL_STATES, PENDING, Delivery, Subscription
from webhooks.settings import WebhookSettings

MANAGERS = frozenset({Role.ADMIN, Role.INTEGRATOR})
MAX_OVERLAP = timedelta(days=7)


@dataclass(frozen=True)
class Created:
    """A subscription with the secret that is shown this once."""

    subscription: Subscription
    secret: str

    def __getattr__(self, name: str) -> Any:
        return getattr(self.subscription, name)


def _require_manager(principal: Principal) -> None:
    if principal.role not in MANAGERS:
        raise Forbidden("webhook subscriptions are managed by admins and integrators")


def _validated(
    ctx: EngineContext,
    settings: WebhookSettings,
    *,
    url: str | None = None,
    event_types: Sequence[str] | None = None,
    jurisdiction: str | None = None,
) -> None:
    if url is not None:
        ssrf.check_url(url, settings.policy)
    if event_types is not None:
        unknown = sorted(set(event_types) - set(EVENT_TYPES))
        if unknown or not event_types:
            raise InvalidInput(
                f"unknown event types {unknown}" if unknown else "name at least one event type",
                known=list(EVENT_TYPES),
            )
    if jurisdiction is not None and ctx.jurisdictions and jurisdiction not in ctx.jurisdictions:
        raise InvalidInput(f"unknown jurisdiction {jurisdiction!r}")


def _get(uow: SqlUnitOfWork, subscription_id: str) -> Subscription:
    subscription = uow.session.get(Subscription, subscription_id)
    if subscription is None:
        raise NotFound(f"webhook subscription {subscription_id} not found")
    return subscription


def create(
    ctx: EngineContext,
    settings: WebhookSettings,
    principal: Principal,
    *,
    url: str,
    event_types: Sequence[str],
    jurisdiction: str | None = None,
    process_key: str | None = None,
    enabled: bool = True,
) -> Created:
    _require_manager(principal)
    _validated(ctx, settings, url=url, event_types=event_types, jurisdiction=jurisdiction)
    secret = signing.new_secret()
    now = ctx.clock()
    with SqlUnitOfWork(ctx.db) as uow:
        subscription = Subscription(
            url=url,
            event_types=list(dict.fromkeys(event_types)),
            jurisdiction=jurisdiction,
            process_key=process_key,
            enabled=enabled,
            secret=secret,
            created_by=principal.username,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(subscription)
        uow.flush()
        uow.audit.record(
            principal.username, "webhook_subscribed", details={"subscription_id": subscription.id}
        )
        uow.commit()
    return Created(subscription, secret)


def list_subscriptions(
    ctx: EngineContext, principal: Principal, page: Page
) -> tuple[list[Subscription], int]:
    _require_manager(principal)
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        query = select(Subscription).order_by(Subscription.created_at, Subscription.id)
        return paginate(uow.session, query, page)


def get(ctx: EngineContext, principal: Principal, subscription_id: str) -> Subscription:
    _require_manager(principal)
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        return _get(uow, subscription_id)


def update(
    ctx: EngineContext,
    settings: WebhookSettings,
    principal: Principal,
    subscription_id: str,
    changes: dict[str, Any],
    version: int | None = None,
) -> Subscription:
    """Change some fields; ``version``, if given, must be the current one (else 409)."""
    _require_manager(principal)
    _validated(
        ctx,
        settings,
        url=changes.get("url"),
        event_types=changes.get("event_types"),
        jurisdiction=changes.get("jurisdiction"),
    )
    with SqlUnitOfWork(ctx.db) as uow:
        subscription = _get(uow, subscription_id)
        if version is not None and version != subscription.version:
            raise Conflict(
                f"subscription is at version {subscription.version}, not {version}",
                current_version=subscription.version,
            )
        for name, value in changes.items():
            setattr(subscription, name, value)
        if changes.get("enabled"):
            subscription.disabled_reason = None
        elif changes.get("enabled") is False:
            subscription.disabled_reason = f"disabled by {principal.username}"
        subscription.updated_at = ctx.clock()
        uow.audit.record(
            principal.username,
            "webhook_updated",
            details={"subscription_id": subscription.id, "fields": sorted(changes)},
        )
        uow.commit()
        return subscription


def delete(ctx: EngineContext, principal: Principal, subscription_id: str) -> None:
    _require_manager(principal)
    with SqlUnitOfWork(ctx.db) as uow:
        uow.session.delete(_get(uow, subscription_id))
        uow.audit.record(
            principal.username, "webhook_deleted", details={"subscription_id": subscription_id}
        )
        uow.commit()


def rotate_secret(
    ctx: EngineContext,
    settings: WebhookSettings,
    principal: Principal,
    subscription_id: str,
    overlap: timedelta | None = None,
) -> Created:
    """A new secret; the old one keeps signing (as a second signature) during ``overlap``."""
    _require_manager(principal)
    overlap = settings.rotation_overlap if overlap is None else overlap
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise InvalidInput(f"the overlap must be between 0 and {MAX_OVERLAP.days} days")
    secret = signing.new_secret()
    now = ctx.clock()
    with SqlUnitOfWork(ctx.db) as uow:
        subscription = _get(uow, subscription_id)
        subscription.previous_secret = subscription.secret if overlap else None
        subscription.previous_secret_expires_at = now + overlap if overlap else None
        subscription.secret = secret
        subscription.updated_at = now
        uow.audit.record(
            principal.username,
            "webhook_secret_rotated",
            details={
                "subscription_id": subscription.id,
                "overlap_seconds": int(overlap.total_seconds()),
            },
        )
        uow.commit()
        return Created(subscription, secret)


def list_deliveries(
    ctx: EngineContext, principal: Principal, subscription_id: str, page: Page
) -> tuple[list[Delivery], int]:
    """The delivery log, newest first, each with its attempts."""
    _require_manager(principal)
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        _get(uow, subscription_id)
        query = (
            select(Delivery)
            .where(Delivery.subscription_id == subscription_id)
            .options(selectinload(Delivery.attempt_log))
            .order_by(Delivery.created_at.desc(), Delivery.id)
        )
        return paginate(uow.session, query, page)


def redeliver(ctx: EngineContext, principal: Principal, delivery_id: str) -> Delivery:
    """Send a finished delivery's event again, as a new delivery with the same ``webhook-id``."""
    _require_manager(principal)
    with SqlUnitOfWork(ctx.db) as uow:
        original = uow.session.get(Delivery, delivery_id)
        if original is None:
            raise NotFound(f"webhook delivery {delivery_id} not found")
        if original.state not in FINAL_STATES:
            raise Conflict(f"delivery {delivery_id} is still {original.state}")
        if not _get(uow, original.subscription_id).enabled:
            raise Conflict("the subscription is disabled; enable it before redelivering")
        delivery = enqueue(
            uow,
            Delivery(
                message_id=original.message_id,
                subscription_id=original.subscription_id,
                event_id=original.event_id,
                event_type=original.event_type,
                state=PENDING,
                redelivery_of=original.id,
                created_at=ctx.clock(),
            ),
            ctx,
        )
        uow.audit.record(
            principal.username,
            "webhook_redelivered",
            details={"delivery_id": original.id, "redelivery_id": delivery.id},
        )
        delivery.attempt_log = []
        uow.commit()
        return delivery
