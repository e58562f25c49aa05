"""Domain events for integrations, written to the ``events`` outbox with their change.

``record`` takes the unit of work of a command, or the session of the running
step (``engine.ambient.current_session()``) when a department handler reports
something, so the event commits exactly when the change does.

Every event also gets an ``event`` job, so whoever registered a job handler
for that kind (webhook fan-out) picks it up after commit; with no handler
registered the jobs simply wait.  Ids are made here, so nothing is flushed
until the step's end: starting a co-review of N departments records N
``task.created`` events, written together.  Payloads carry ids and API links,
never secrets and never whole task data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from engine.models import Event, HumanTask, Instance, Job, new_id
from engine.unit_of_work import SqlUnitOfWork

EVENT_JOB = "event"
API = "/api/v1"

EVENT_TYPES = (
    "instance.started",
    "instance.completed",
    "instance.terminated",
    "instance.migrated",
    "instance.modified",
    "task.created",
    "task.assigned",
    "task.completed",
    "task.overdue",
    "task.reminder",
    # Approval operations (docs/approval-operations.md).
    "task.transferred",
    "task.delegated",
    "task.resolved",
    "task.returned",
    "task.rejected",
    "task.withdrawn",
    "task.urged",
    "task.cc",
    "task.escalated",
    "task.signers_added",
    "task.signers_removed",
    "proxy.created",
    "proxy.revoked",
    "brand.added",
    "brand.exited",
    "incident.created",
)


def record(
    uow: SqlUnitOfWork | Session,
    type_: str,
    data: dict[str, Any],
    *,
    at: datetime,
    instance: Instance | None = None,
    jurisdiction: str | None = None,
    process_key: str | None = None,
    instance_id: str | None = None,
) -> Event:
    """Add an event and its job; ``instance`` gives the event its jurisdiction, process and
    instance, else ``jurisdiction``, ``process_key`` and ``instance_id`` do."""
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    event = Event(
        id=new_id(),  # here, not at flush: the job names it
        type=type_,
        at=at,
        jurisdiction=instance.jurisdiction if instance else jurisdiction,
        process_key=instance.process_key if instance else process_key,
        instance_id=instance.id if instance else instance_id,
        data=data,
    )
    session = uow if isinstance(uow, Session) else uow.session
    session.add(event)
    session.add(Job(kind=EVENT_JOB, due_at=event.at, payload={"event_id": event.id}))
    return event


def record_task(
    uow: SqlUnitOfWork | Session, type_: str, task: HumanTask, *, at: datetime
) -> Event:
    return record(
        uow,
        type_,
        task_data(task),
        at=at,
        jurisdiction=task.jurisdiction,
        process_key=task.process_key,
        instance_id=task.instance_id,
    )


def instance_data(instance: Instance) -> dict[str, Any]:
    return {
        "instance_id": instance.id,
        "process_key": instance.process_key,
        "business_key": instance.business_key,
        "jurisdiction": instance.jurisdiction,
        "status": instance.status,
        "links": {"instance": f"{API}/instances/{instance.id}"},
    }


def task_data(task: HumanTask) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "instance_id": task.instance_id,
        "process_key": task.process_key,
        "bpmn_id": task.bpmn_id,
        "name": task.name,
        "jurisdiction": task.jurisdiction,
        "department": task.department,
        "assignee": task.assignee,
        "state": task.state,
        "due_at": task.due_at.isoformat() if task.due_at else None,
        "links": {
            "task": f"{API}/tasks/{task.id}",
            "instance": f"{API}/instances/{task.instance_id}",
        },
    }
