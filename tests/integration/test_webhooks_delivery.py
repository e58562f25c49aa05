"""Events reach subscribers signed, retried on the schedule, and logged attempt by attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update
from standardwebhooks.webhooks import WebhookVerificationError

from engine import jobs
from engine.clock import FakeClock
from engine.identity import SYSTEM
from engine.models import Job
from engine.unit_of_work import SqlUnitOfWork
from tests.webhooks_helpers import (
    START,
    deliveries,
    emit,
    settings,
    subscribe,
    subscription,
    verified,
)
from webhooks import subscriptions
from webhooks.delivery import INTERRUPTED, Deliverer
from webhooks.models import CANCELLED, DELIVERED, FAILED, PENDING, SENDING
from webhooks.ssrf import AllowList
from webhooks.testing import Receiver


def test_an_event_arrives_once_signed_as_standard_webhooks_verify_it(hook_ctx):
    with Receiver() as receiver:
        created = subscribe(hook_ctx, receiver.url)
        event_id = emit(hook_ctx, data={"instance_id": "i-1"})
        jobs.run_due_jobs(hook_ctx)

    [request] = receiver.received
    payload = verified(request, created.secret)
    assert payload == {
        "type": "instance.started",
        "timestamp": "2026-05-04T09:00:00Z",
        "data": {"instance_id": "i-1"},
    }
    assert request.headers["webhook-id"].startswith("msg_")
    assert request.headers["content-type"] == "application/json"
    [delivery] = deliveries(hook_ctx)
    assert (delivery.event_id, delivery.state, delivery.attempts) == (event_id, DELIVERED, 1)
    [attempt] = delivery.attempt_log
    assert attempt.status_code == 200 and attempt.latency_ms >= 0 and attempt.response == "ok"


def test_a_receiver_failing_three_times_gets_four_attempts_and_one_delivery(hook_ctx):
    with Receiver(statuses=[500, 502, 503]) as receiver:
        created = subscribe(hook_ctx, receiver.url)
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx)
        for delay in (5, 5 * 60, 30 * 60):
            hook_ctx.clock.advance(seconds=delay - 1)
            jobs.run_due_jobs(hook_ctx)  # not yet due
            hook_ctx.clock.advance(seconds=1)
            jobs.run_due_jobs(hook_ctx)
        hook_ctx.clock.advance(days=3)
        jobs.run_due_jobs(hook_ctx)

    assert len(receiver.received) == 4
    assert len(receiver.message_ids()) == 1, "every retry carries the same webhook-id"
    for request in receiver.received:
        verified(request, created.secret)
    [delivery] = deliveries(hook_ctx)
    assert delivery.state == DELIVERED and delivery.attempts == 4
    assert [a.status_code for a in delivery.attempt_log] == [500, 502, 503, 200]
    assert [a.number for a in delivery.attempt_log] == [1, 2, 3, 4]


def test_retries_follow_the_schedule_with_the_injected_jitter(app, install_webhooks):
    hook_settings = settings(jitter=lambda delay: delay * 2)
    install_webhooks(hook_settings)
    context = app.extensions["huiqian.engine"]
    context.clock = FakeClock(START)
    with Receiver(statuses=[500]) as receiver:
        subscribe(context, receiver.url)
        emit(context)
        jobs.run_due_jobs(context)
        [delivery] = deliveries(context)
        assert delivery.next_attempt_at == START + timedelta(seconds=10)
        context.clock.advance(seconds=9)
        jobs.run_due_jobs(context)
        assert len(receiver.received) == 1
        context.clock.advance(seconds=1)
        jobs.run_due_jobs(context)
        assert len(receiver.received) == 2


def test_an_exhausted_delivery_is_marked_failed(app, install_webhooks):
    install_webhooks(settings(schedule=[timedelta(seconds=1)] * 2))
    context = app.extensions["huiqian.engine"]
    context.clock = FakeClock(START)
    with Receiver(default=500) as receiver:
        subscribe(context, receiver.url)
        emit(context)
        for _ in range(5):
            jobs.run_due_jobs(context)
            context.clock.advance(seconds=1)
    assert len(receiver.received) == 3
    [delivery] = deliveries(context)
    assert (delivery.state, delivery.attempts, delivery.last_error) == (FAILED, 3, "HTTP 500")
    with context.db.read_session() as s:
        assert s.query(Job).filter_by(kind="webhook_delivery", state="pending").count() == 0


def test_during_a_rotation_both_secrets_verify_and_afterwards_only_the_new_one(hook_ctx):
    with Receiver() as receiver:
        old = subscribe(hook_ctx, receiver.url)
        new = subscriptions.rotate_secret(
            hook_ctx, settings(), SYSTEM, old.id, overlap=timedelta(hours=1)
        )
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx)
        hook_ctx.clock.advance(hours=1, seconds=1)
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx)

    during, after = receiver.received
    assert new.secret != old.secret
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verified(during, old.secret) == verified(during, new.secret)
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    verified(after, new.secret)
    with pytest.raises(WebhookVerificationError):
        verified(after, old.secret)


def test_410_gone_disables_the_subscription(hook_ctx):
    with Receiver(statuses=[410]) as receiver:
        created = subscribe(hook_ctx, receiver.url)
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx)
        emit(hook_ctx)
        hook_ctx.clock.advance(days=1)
        jobs.run_due_jobs(hook_ctx)

    assert len(receiver.received) == 1
    disabled = subscription(hook_ctx, created.id)
    assert not disabled.enabled and "410" in disabled.disabled_reason
    [delivery] = deliveries(hook_ctx)
    assert delivery.state == FAILED and delivery.last_status_code == 410


def test_subscriptions_hear_only_their_types_jurisdiction_and_process(hook_ctx):
    with Receiver() as receiver:
        baoji = subscribe(hook_ctx, receiver.url, ["task.created"], jurisdiction="baoji")
        qinghai = subscribe(hook_ctx, receiver.url, ["task.created"], jurisdiction="qinghai")
        awards = subscribe(hook_ctx, receiver.url, ["task.created"], process_key="award")
        everything = subscribe(hook_ctx, receiver.url, ["task.created", "task.completed"])
        emit(hook_ctx, "task.created", jurisdiction="baoji", process_key="co_review")
        emit(hook_ctx, "task.created", jurisdiction="qinghai", process_key="award")
        emit(hook_ctx, "task.completed", jurisdiction="baoji", process_key="award")
        emit(hook_ctx, "instance.started", jurisdiction="baoji", process_key="award")
        jobs.run_due_jobs(hook_ctx)

    def heard(created):
        return sorted((d.event_type, d.state) for d in deliveries(hook_ctx, created.id))

    assert heard(baoji) == [("task.created", DELIVERED)]
    assert heard(qinghai) == [("task.created", DELIVERED)]
    assert heard(awards) == [("task.created", DELIVERED)]
    assert heard(everything) == [
        ("task.completed", DELIVERED),
        ("task.created", DELIVERED),
        ("task.created", DELIVERED),
    ]
    assert len(receiver.received) == 6


def test_redelivery_sends_the_event_again_with_the_same_webhook_id(hook_ctx):
    with Receiver() as receiver:
        subscribe(hook_ctx, receiver.url)
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx)
        [first] = deliveries(hook_ctx)
        again = subscriptions.redeliver(hook_ctx, SYSTEM, first.id)
        jobs.run_due_jobs(hook_ctx)

    assert again.redelivery_of == first.id
    assert [d.state for d in deliveries(hook_ctx)] == [DELIVERED, DELIVERED]
    assert len(receiver.received) == 2 and len(receiver.message_ids()) == 1


def test_a_disabled_subscription_cancels_its_pending_deliveries(hook_ctx):
    with Receiver(statuses=[500]) as receiver:
        created = subscribe(hook_ctx, receiver.url)
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx)
        subscriptions.update(hook_ctx, settings(), SYSTEM, created.id, {"enabled": False})
        hook_ctx.clock.advance(minutes=1)
        jobs.run_due_jobs(hook_ctx)
    assert len(receiver.received) == 1
    [delivery] = deliveries(hook_ctx)
    assert delivery.state == CANCELLED


def test_an_attempt_whose_worker_died_is_retried_when_its_lease_ends(hook_ctx):
    hook_settings = settings()
    with Receiver() as receiver:
        subscribe(hook_ctx, receiver.url)
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx, limit=1)  # the fan-out only
        [pending] = deliveries(hook_ctx)
        with SqlUnitOfWork(hook_ctx.db) as uow:
            job = uow.session.get(Job, pending.lease_job_id)
            job.state = "done"
            assert Deliverer(hook_settings).claim(hook_ctx, uow, job) is not None
            uow.commit()  # claimed, then the worker "dies": nothing is sent or recorded
        assert deliveries(hook_ctx)[0].state == SENDING
        jobs.run_due_jobs(hook_ctx)
        assert receiver.received == []
        hook_ctx.clock.advance(seconds=hook_settings.lease.total_seconds())
        jobs.run_due_jobs(hook_ctx)

    [delivery] = deliveries(hook_ctx)
    assert delivery.state == DELIVERED and delivery.attempts == 2
    assert [a.error for a in delivery.attempt_log] == [INTERRUPTED, None]
    assert len(receiver.received) == 1


def test_the_request_is_sent_after_the_claim_commits_so_writers_are_not_blocked(hook_ctx):
    """On SQLite the job's transaction holds the database's write lock; the send is outside it."""
    writes = []

    def write_while_receiving(_request):
        with hook_ctx.db.write_session() as s:
            s.execute(update(Job).where(Job.id == -1).values(attempts=0))
            s.commit()
        writes.append(True)

    with Receiver(on_request=write_while_receiving) as receiver:
        subscribe(hook_ctx, receiver.url)
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx)
    assert writes == [True] and len(receiver.received) == 1


def test_the_target_is_checked_again_at_delivery_time(hook_ctx, install_webhooks):
    with Receiver() as receiver:
        subscribe(hook_ctx, receiver.url)
        # The operator removed the allow-list entry (demo mode still accepts plain http).
        install_webhooks(settings(allow=AllowList(), demo=True))
        emit(hook_ctx)
        jobs.run_due_jobs(hook_ctx)
    assert receiver.received == []
    [delivery] = deliveries(hook_ctx)
    assert delivery.state == PENDING
    [attempt] = delivery.attempt_log
    assert attempt.status_code is None and attempt.error.startswith("refused: ")
    assert "a loopback address" in attempt.error
