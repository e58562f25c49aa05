"""What a saved instance waits for: timer jobs and message subscriptions.

Called at the end of every step (``engine.steps.save``), so the rows always
mirror the saved workflow: one pending ``timer`` job per distinct due time,
one ``message_waits`` row per awaited message name.  A new wait adds a row; a
timer that fired or a wait that was cancelled (its activity finished, the
instance ended) drops it, all in the transaction that saved the state.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from engine.models import Instance, Job, MessageWait
from engine.runtime import WorkflowRun
from engine.unit_of_work import SqlUnitOfWork

TIMER = "timer"


MESSAGE_EVENT_TYPE = "MessageEventDefinition"
TIMER_EVENT_TYPES = frozenset(
    {"TimeDateEventDefinition", "DurationTimerEventDefinition", "CycleTimerEventDefinition"}
)


def due_times(run: WorkflowRun) -> set[datetime]:
    """When the workflow's waiting timers are due (a naive time is taken as UTC)."""
    times = set()
    for event in run.workflow.waiting_events():
        if event.event_type in TIMER_EVENT_TYPES and isinstance(event.value, str):
            due = datetime.fromisoformat(event.value)
            times.add(due if due.tzinfo else due.replace(tzinfo=UTC))
    return times


def awaited_messages(run: WorkflowRun) -> set[str]:
    return {
        event.name
        for event in run.workflow.waiting_events()
        if event.event_type == MESSAGE_EVENT_TYPE
    }


def schedule_waits(uow: SqlUnitOfWork, run: WorkflowRun, instance: Instance) -> None:
    waiting = instance.status == "running" and not run.completed
    _schedule_timers(uow, due_times(run) if waiting else set(), instance)
    _schedule_messages(uow, awaited_messages(run) if waiting else set(), instance)


def _schedule_messages(uow: SqlUnitOfWork, wanted: set[str], instance: Instance) -> None:
    existing = {
        wait.name: wait
        for wait in uow.session.scalars(
            select(MessageWait).where(MessageWait.instance_id == instance.id)
        )
    }
    stale = [wait.id for name, wait in existing.items() if name not in wanted]
    if stale:
        uow.session.execute(delete(MessageWait).where(MessageWait.id.in_(stale)))
    for name in wanted - set(existing):
        uow.session.add(MessageWait(instance_id=instance.id, name=name))


def _schedule_timers(uow: SqlUnitOfWork, wanted: set[datetime], instance: Instance) -> None:
    existing = {
        job.due_at: job
        for job in uow.session.scalars(
            select(Job).where(
                Job.instance_id == instance.id, Job.kind == TIMER, Job.state == "pending"
            )
        )
    }
    stale = [job.id for due, job in existing.items() if due not in wanted]
    if stale:
        uow.session.execute(delete(Job).where(Job.id.in_(stale)))
    for due in wanted - set(existing):
        uow.session.add(Job(kind=TIMER, instance_id=instance.id, due_at=due, payload={}))
