"""How one delivery is attempted: claim, commit, send, record.

The HTTP call must not run inside the job's transaction: on SQLite that
transaction holds the database's write lock (every API write would wait up to
the 15 s timeout), on PostgreSQL a connection and row locks.  So the
``webhook_delivery`` job handler only *claims* an attempt: it marks the delivery
``sending``, logs the attempt, and schedules a lease job (a watchdog) due when
the attempt's time is up.  After that transaction commits, the same worker
signs and sends, then *records* the outcome in a second short transaction: a
2xx ends the delivery, a failure turns the lease job into the retry (delay from
the schedule, with jitter), 410 disables the subscription.  If the worker dies
between claim and record, the lease job fires and another worker retries: at
least once, never lost; receivers de-duplicate on ``webhook-id``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import event as orm_event
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.models import Event, Job
from engine.unit_of_work import SqlUnitOfWork
from webhooks import signing, ssrf, transport
from webhooks.fanout import DELIVERY_JOB
from webhooks.models import (
    CANCELLED,
    DELIVERED,
    FAILED,
    FINAL_STATES,
    PENDING,
    SENDING,
    Attempt,
    Delivery,
    Subscription,
)
from webhooks.settings import WebhookSettings

log = logging.getLogger(__name__)
GONE = 410
INTERRUPTED = "no outcome recorded: the worker stopped or the attempt outlived its lease"


def payload_body(event: Event) -> str:
    """The body every attempt of the event sends, byte for byte."""
    timestamp = event.at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    body = {"type": event.type, "timestamp": timestamp, "data": event.data}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def live_secrets(subscription: Subscription, now: datetime) -> list[str]:
    """The current secret, and during a rotation's overlap the previous one too."""
    expires = subscription.previous_secret_expires_at
    if subscription.previous_secret and expires is not None and now < expires:
        return [subscription.secret, subscription.previous_secret]
    return [subscription.secret]


@dataclass(frozen=True)
class Claim:
    """Everything the send needs, read while the claim's transaction was open."""

    delivery_id: str
    lease_job_id: int
    attempt_id: int
    url: str
    message_id: str
    body: str
    secrets: tuple[str, ...]


Row = TypeVar("Row", Delivery, Job)


def _locked(session: Session, ctx: EngineContext, model: type[Row], key: object) -> Row | None:
    query = select(model).where(model.id == key)
    if not ctx.db.is_sqlite:
        query = query.with_for_update()
    return session.scalar(query)


def _after_outer_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's outermost transaction has committed.

    SQLAlchemy fires ``after_commit`` for a released savepoint too (the job runs
    in one), so those calls are skipped; a rollback never fires it.
    """
    done = False

    def fire(committed: Session) -> None:
        nonlocal done
        if not done and committed.get_nested_transaction() is None:
            done = True
            action()

    orm_event.listen(session, "after_commit", fire)


class Deliverer:
    """The ``webhook_delivery`` job handler, bound to this installation's settings."""

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings

    def __call__(self, ctx: EngineContext, uow: SqlUnitOfWork, job: Job) -> None:
        claim = self.claim(ctx, uow, job)
        if claim is not None:
            # Registered last: nothing in this handler can fail after it.
            _after_outer_commit(uow.session, lambda: self.send_and_record(ctx, claim))

    def claim(self, ctx: EngineContext, uow: SqlUnitOfWork, job: Job) -> Claim | None:
        session = uow.session
        delivery = _locked(session, ctx, Delivery, job.payload["delivery_id"])
        if delivery is None or delivery.state in FINAL_STATES:
            return None
        if delivery.lease_job_id not in (None, job.id):
            return None  # not this job's turn: a newer job owns the delivery
        now = ctx.clock()
        if delivery.state == SENDING:
            self._interrupted(session, delivery, now)
        subscription = session.get(Subscription, delivery.subscription_id)
        if subscription is None or not subscription.enabled:
            self._finish(delivery, CANCELLED, now, "the subscription is disabled")
            return None
        if delivery.attempts >= self.settings.max_attempts:
            self._finish(delivery, FAILED, now, delivery.last_error)
            return None
        event = session.get(Event, delivery.event_id)
        if event is None:
            self._finish(delivery, CANCELLED, now, "the event no longer exists")
            return None
        delivery.attempts += 1
        delivery.state = SENDING
        delivery.next_attempt_at = None
        attempt = Attempt(delivery_id=delivery.id, number=delivery.attempts, started_at=now)
        lease = Job(kind=DELIVERY_JOB, due_at=now + self.settings.lease, payload=dict(job.payload))
        session.add_all([attempt, lease])
        session.flush()
        delivery.lease_job_id = lease.id
        return Claim(
            delivery.id,
            lease.id,
            attempt.id,
            subscription.url,
            delivery.message_id,
            payload_body(event),
            tuple(live_secrets(subscription, now)),
        )

    def send(self, claim: Claim) -> transport.Outcome:
        try:
            target = ssrf.check_url(claim.url, self.settings.policy)
        except ssrf.TargetRefused as refused:
            return transport.Outcome(None, 0, "", f"refused: {refused.detail}")
        # The signing time is the wall clock's: receivers compare it with theirs.
        timestamp = int(datetime.now(UTC).timestamp())
        headers = {
            "content-type": "application/json",
            "user-agent": "Huiqian-Webhooks/1",
            "webhook-id": claim.message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature_header(
                claim.secrets, claim.message_id, timestamp, claim.body
            ),
        }
        return transport.post(
            target,
            claim.body.encode(),
            headers,
            timeout=self.settings.timeout_seconds,
            excerpt_chars=self.settings.response_excerpt_chars,
        )

    def send_and_record(self, ctx: EngineContext, claim: Claim) -> None:
        try:
            outcome = self.send(claim)
            self.record(ctx, claim, outcome)
        except Exception:  # noqa: BLE001 - the lease job retries whatever went wrong here
            log.exception("webhook delivery %s: recording the attempt failed", claim.delivery_id)

    def record(self, ctx: EngineContext, claim: Claim, outcome: transport.Outcome) -> None:
        now = ctx.clock()
        with ctx.db.write_session() as session:
            # Lease job before delivery: the order a worker running the lease job locks them.
            lease = _locked(session, ctx, Job, claim.lease_job_id)
            delivery = _locked(session, ctx, Delivery, claim.delivery_id)
            attempt = session.get(Attempt, claim.attempt_id)
            if attempt is not None and attempt.finished_at is None:
                attempt.finished_at = now
                attempt.status_code = outcome.status
                attempt.latency_ms = outcome.latency_ms
                attempt.response = outcome.response
                attempt.error = outcome.error
            if (
                delivery is not None
                and lease is not None
                and delivery.state == SENDING
                and delivery.lease_job_id == lease.id
                and lease.state == "pending"
            ):
                self._apply(session, delivery, lease, outcome, now)
            session.commit()

    def _apply(
        self,
        session: Session,
        delivery: Delivery,
        lease: Job,
        outcome: transport.Outcome,
        now: datetime,
    ) -> None:
        delivery.last_status_code = outcome.status
        error = outcome.error or (None if outcome.succeeded else f"HTTP {outcome.status}")
        if outcome.succeeded:
            self._finish(delivery, DELIVERED, now, None)
        elif outcome.status == GONE:
            session.execute(
                update(Subscription)
                .where(Subscription.id == delivery.subscription_id)
                .values(
                    enabled=False,
                    disabled_reason="the receiver answered 410 Gone",
                    updated_at=now,
                    version=Subscription.version + 1,
                )
            )
            self._finish(delivery, FAILED, now, error)
        elif delivery.attempts >= self.settings.max_attempts:
            self._finish(delivery, FAILED, now, error)
        else:
            delivery.state = PENDING
            delivery.last_error = error
            delivery.next_attempt_at = now + self.settings.retry_delay(delivery.attempts)
            lease.due_at = delivery.next_attempt_at
            return
        session.delete(lease)

    @staticmethod
    def _finish(delivery: Delivery, state: str, now: datetime, error: str | None) -> None:
        delivery.state = state
        delivery.finished_at = now
        delivery.next_attempt_at = None
        delivery.lease_job_id = None
        delivery.last_error = error

    @staticmethod
    def _interrupted(session: Session, delivery: Delivery, now: datetime) -> None:
        attempt = session.scalar(
            select(Attempt).where(
                Attempt.delivery_id == delivery.id, Attempt.number == delivery.attempts
            )
        )
        if attempt is not None and attempt.finished_at is None:
            attempt.finished_at = now
            attempt.error = INTERRUPTED
        delivery.last_error = INTERRUPTED
