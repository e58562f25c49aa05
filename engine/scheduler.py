"""Timer jobs: one pending ``timer`` job per distinct due time of an instance's timers.

Called at the end of every step (``engine.steps.save``), so the jobs always
mirror what the saved workflow is waiting for: a new timer adds a job, a timer
that fired or was cancelled (its activity finished, the instance ended) drops
its job, all in the transaction that saved the state.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from engine.models import Instance, Job
from engine.runtime import WorkflowRun
from engine.unit_of_work import SqlUnitOfWork

TIMER = "timer"


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


def schedule_timers(uow: SqlUnitOfWork, run: WorkflowRun, instance: Instance) -> None:
    wanted = due_times(run) if instance.status == "running" and not run.completed else set()
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
