"""Which subscriptions hear an event: one delivery (and one delivery job) for each.

Runs as the handler of the engine's ``event`` jobs, inside the transaction that
marks the job done, so an event fans out exactly once in effect.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from engine.context import EngineContext
from engine.models import Event, Job
from engine.unit_of_work import SqlUnitOfWork
from webhooks.models import PENDING, Delivery, Subscription

DELIVERY_JOB = "webhook_delivery"
_MESSAGE_NAMESPACE = uuid.UUID("6f1d4e0a-5b0e-4d55-9a57-0c5f3f0e9a11")


def message_id(event_id: str, subscription_id: str) -> str:
    """The ``webhook-id``: derived, so it is the same for every attempt and redelivery."""
    return "msg_" + uuid.uuid5(_MESSAGE_NAMESPACE, f"{event_id}/{subscription_id}").hex


def matches(subscription: Subscription, event: Event) -> bool:
    return (
        subscription.enabled
        and event.type in subscription.event_types
        and subscription.jurisdiction in (None, event.jurisdiction)
        and subscription.process_key in (None, event.process_key)
    )


def enqueue(uow: SqlUnitOfWork, delivery: Delivery, ctx: EngineContext) -> Delivery:
    """Add a delivery with the job that will make its first attempt."""
    uow.session.add(delivery)
    uow.session.flush()
    job = Job(kind=DELIVERY_JOB, due_at=ctx.clock(), payload={"delivery_id": delivery.id})
    uow.session.add(job)
    uow.session.flush()
    delivery.lease_job_id = job.id
    return delivery


def fan_out(ctx: EngineContext, uow: SqlUnitOfWork, job: Job) -> None:
    event = uow.session.get(Event, job.payload["event_id"])
    if event is None:
        return
    subscriptions = uow.session.scalars(select(Subscription).where(Subscription.enabled))
    for subscription in subscriptions:
        if matches(subscription, event):
            enqueue(
                uow,
                Delivery(
                    message_id=message_id(event.id, subscription.id),
                    subscription_id=subscription.id,
                    event_id=event.id,
                    event_type=event.type,
                    state=PENDING,
                    created_at=ctx.clock(),
                ),
                ctx,
            )
