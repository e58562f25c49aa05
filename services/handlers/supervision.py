"""督办: reminding departments of an open co-review and escalating it to the lead department.

The co-review's timers (``bpmn/co_review.bpmn``) call these when its working-day
deadlines pass.  Both work in the step's own transaction and only report; the
departments' tasks stay theirs.  A reminder is a ``task.reminder`` event per
unanswered department (delivered by webhooks).  The escalation is an audit
entry naming the lead department and the overdue departments, and the
``escalation`` variable of the process; the ``task.overdue`` events themselves
come from the engine at each task's due date, so they are not sent twice.
"""

from __future__ import annotations

from typing import Any

from engine import clock, events
from engine.ambient import current_session
from engine.repository import AuditRepository, TaskRepository
from services.handlers.registry import HandlerCall, HandlerRegistry


def _open_review_tasks(call: HandlerCall) -> list[Any]:
    """The co-review's open tasks, in the order of its ``departments`` (the roster's order).

    Tasks created in one step share a timestamp, so the rows alone give no stable order.
    """
    instance_id = call.data.get("instance_id")
    if not instance_id:
        raise ValueError("the task data has no instance_id")
    element = call.params.get("element_id", "review")
    session = current_session()
    found = [
        task
        for task in TaskRepository(session, row_locks=False).for_instance(instance_id, "open")
        if task.bpmn_id == element
    ]
    position = {code: index for index, code in enumerate(call.data.get("departments") or [])}
    return sorted(found, key=lambda task: (position.get(task.department, len(position)), task.id))


def _audit(call: HandlerCall, action: str, details: dict[str, Any]) -> None:
    AuditRepository(current_session()).record(
        "system", action, instance_id=call.data.get("instance_id"), details=details
    )


def remind_reviewers(call: HandlerCall) -> dict[str, Any]:
    """催办: every department that has not answered yet is reminded."""
    tasks = _open_review_tasks(call)
    now = clock.now()
    for task in tasks:
        events.record_task(current_session(), "task.reminder", task, at=now)
    departments = [task.department for task in tasks]
    _audit(call, "remind", {"departments": departments})
    return {"departments": departments}


def escalate_to_lead(call: HandlerCall) -> dict[str, Any]:
    """逾期上报: the lead department is told which departments are overdue."""
    escalation = {
        "escalated_to": call.data.get("lead_department"),
        "departments": [task.department for task in _open_review_tasks(call)],
    }
    _audit(call, "escalate", escalation)
    return escalation


def register(registry: HandlerRegistry) -> None:
    registry.register("hrss.remind_reviewers")(remind_reviewers)
    registry.register("hrss.escalate_to_lead")(escalate_to_lead)
