"""Timeout actions: what happens to an open task when its due date passes.

A user task with ``huiqian:dueIn`` may name ``huiqian:timeoutAction``; the ``task_due``
job (``engine.jobs``) applies it right after announcing ``task.overdue``:

* ``remind``: ``task.reminder`` to its assignee or department;
* ``auto_approve`` / ``auto_reject``: the system completes it with the form's approving
  or rejecting answer, and an opinion saying so;
* ``escalate`` (督办): the lead department (牵头部门) gets a copy (抄送), and
  ``task.escalated`` is announced.

The answer of ``auto_*`` follows the form: ``approved: true/false`` if the form has
``approved``, else ``decision: approve/reject``; plus ``opinion`` when the form takes one.
A form that accepts neither fails the job, which retries and then opens an incident.
"""

from __future__ import annotations

from typing import Any

from engine import commands, events, steps
from engine.approvals import notices
from engine.approvals.opinions import APPROVE, REJECT
from engine.context import EngineContext
from engine.human_tasks import task_form
from engine.identity import SYSTEM
from engine.models import HumanTask
from engine.unit_of_work import SqlUnitOfWork

OPINIONS = {
    APPROVE: "超时未办理，系统自动同意",
    REJECT: "超时未办理，系统自动驳回",
}


def form_answer(form: dict[str, Any] | None, decision: str) -> dict[str, Any]:
    """The answer meaning ``decision`` in a task's form, with the system's opinion."""
    schema = (form or {}).get("schema") or {}
    fields = schema.get("properties", {})
    answer: dict[str, Any] = (
        {"approved": decision == APPROVE} if "approved" in fields else {"decision": decision}
    )
    if not fields or "opinion" in fields:
        answer["opinion"] = OPINIONS[decision]
    return answer


def apply(ctx: EngineContext, uow: SqlUnitOfWork, task: HumanTask) -> None:
    """Apply the timeout action of the overdue open ``task``, if its model names one."""
    instance = uow.instances.get(task.instance_id, for_update=True)
    if instance is None or instance.status != "running":
        return
    uow.session.refresh(task)
    spiff_task = steps.restore(ctx, uow, instance).task(task.id)
    if task.state != "open" or spiff_task is None:
        return
    action = (spiff_task.task_spec.extensions or {}).get("timeoutAction")
    now = ctx.clock()
    if action == "remind":
        events.record_task(uow, "task.reminder", task, at=now)
        uow.audit.record(
            SYSTEM.username,
            "remind",
            instance_id=instance.id,
            task_id=task.id,
            details={"departments": [task.department], "timeout": True},
        )
    elif action == "escalate":
        pack = ctx.jurisdictions.get(task.jurisdiction) if task.jurisdiction else None
        lead = [pack.lead] if pack is not None else []
        if lead:
            notices.add_copies(
                ctx, uow, task, users=[], departments=lead, by=SYSTEM.username, note="逾期督办"
            )
        event = events.record_task(uow, "task.escalated", task, at=now)
        event.data = {**event.data, "escalated_to": lead}
        uow.audit.record(
            SYSTEM.username,
            "escalate",
            instance_id=instance.id,
            task_id=task.id,
            details={"escalated_to": lead, "departments": [task.department]},
        )
    elif action in ("auto_approve", "auto_reject"):
        decision = APPROVE if action == "auto_approve" else REJECT
        task.delegation = None  # a pending delegation ends with the task
        commands.complete_in(
            ctx,
            uow,
            task,
            instance,
            form_answer(task_form(task.form, ctx.forms), decision),
            actor=SYSTEM.username,
        )
