"""What a saved instance waits for: timer jobs and message subscriptions.

Called at the end of every step (``engine.steps.save``), so the rows always
mirror the saved workflow: one pending ``timer`` job per distinct due time,
one ``message_waits`` row per awaited message name.  A new wait adds a row; a
timer that fired or a wait that was cancelled (its activity finished, the
instance ended) drops it, all in the transaction that saved the state.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.base import EventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import Task, TaskState
from sqlalchemy import delete, select

from engine.models import Instance, Job, MessageWait
from engine.runtime import WorkflowRun
from engine.task_specs import HuiqianServiceTask
from engine.unit_of_work import SqlUnitOfWork

TIMER = "timer"
SERVICE_TASK = "service_task"


def waiting_definitions(run: WorkflowRun) -> Iterator[tuple[Task, EventDefinition]]:
    """Each waiting task with each event it waits for.

    An event-based gateway waits as one task with a MultipleEventDefinition,
    whose summary (``waiting_events()``) names none of its events, so the
    definitions inside it are listed one by one.
    """
    for task in run.workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        if isinstance(definition, MultipleEventDefinition):
            for inner in definition.event_definitions:
                yield task, inner
        else:
            yield task, definition


def _as_utc(value: str) -> datetime:
    due = datetime.fromisoformat(value)
    return due if due.tzinfo else due.replace(tzinfo=UTC)


def due_times(run: WorkflowRun) -> set[datetime]:
    """When the workflow's waiting timers are due (a naive time is taken as UTC)."""
    times = set()
    for task, definition in waiting_definitions(run):
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):  # a cycle: its next occurrence
            value = value.get("next") if value.get("cycles") != 0 else None
        if isinstance(value, str):
            times.add(_as_utc(value))
    return times


def awaited_messages(run: WorkflowRun) -> set[str]:
    return {
        definition.name
        for _task, definition in waiting_definitions(run)
        if isinstance(definition, MessageEventDefinition)
    }


def started_service_tasks(run: WorkflowRun) -> dict[str, Task]:
    """Asynchronous service tasks that wait for the job worker, by task id."""
    return {
        str(task.id): task
        for task in run.all_tasks()
        if task._state == TaskState.STARTED
        and isinstance(task.task_spec, HuiqianServiceTask)
        and task.task_spec.is_async
    }


Waits = tuple[frozenset[datetime], frozenset[str], frozenset[str]]


def schedule_waits(
    uow: SqlUnitOfWork,
    run: WorkflowRun,
    instance: Instance,
    now: datetime,
    known: Waits | None = None,
) -> Waits:
    """Reconcile the rows with what ``run`` waits for; returns what that is.

    ``known`` is what the rows were reconciled to at the instance's previous save
    in this process: when nothing changed, the three reconciling queries are
    skipped (a co-review answer, for one, changes no wait).
    """
    waiting = instance.status in ("running", "error") and not run.completed
    timers = due_times(run) if waiting else set()
    messages = awaited_messages(run) if waiting else set()
    started = started_service_tasks(run) if waiting else {}
    waits = (frozenset(timers), frozenset(messages), frozenset(started))
    if waits == known:
        return waits
    _schedule_timers(uow, timers, instance)
    _schedule_messages(uow, messages, instance)
    _schedule_service_tasks(uow, started, instance, now)
    return waits


def _schedule_service_tasks(
    uow: SqlUnitOfWork, wanted: dict[str, Task], instance: Instance, now: datetime
) -> None:
    existing = {
        job.payload["task_id"]: job
        for job in uow.session.scalars(
            select(Job).where(
                Job.instance_id == instance.id,
                Job.kind == SERVICE_TASK,
                Job.state.in_(("pending", "failed")),
            )
        )
    }
    stale = [job.id for task_id, job in existing.items() if task_id not in wanted]
    if stale:
        uow.session.execute(delete(Job).where(Job.id.in_(stale), Job.state == "pending"))
    for task_id, task in wanted.items():
        if task_id not in existing:
            uow.session.add(
                Job(
                    kind=SERVICE_TASK,
                    instance_id=instance.id,
                    due_at=now,
                    max_attempts=task.task_spec.attempts,
                    payload={"task_id": task_id, "element_id": task.task_spec.bpmn_id},
                )
            )


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
