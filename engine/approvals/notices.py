"""催办 urge and 抄送 copy: telling people about a task without changing who works on it.

**Urge** reminds whoever holds an open task (its assignee, else its department) through a
``task.urged`` event.  The starter of the instance, an officer who completed one of its
tasks, or an admin may urge; at most once per task per ``URGE_INTERVAL`` (429 with
``Retry-After`` otherwise), so nobody is flooded.

**Copy** gives users or whole departments of the task's jurisdiction read access to the
task (and, being of the jurisdiction, to its instance): ``GET /tasks?scope=cc`` lists
them.  Whoever may act on the task may copy it, open or done.
"""

from __future__ import annotations

import math
from datetime import timedelta

from sqlalchemy import select

from engine import commands, events
from engine.approvals import people
from engine.approvals.acting import lock_instance
from engine.context import EngineContext
from engine.errors import Conflict, Forbidden, HuiqianError, NotFound
from engine.identity import Principal, Role
from engine.models import HumanTask, Instance, TaskCc
from engine.unit_of_work import SqlUnitOfWork

URGE_INTERVAL = timedelta(hours=1)


class UrgedTooOften(HuiqianError):
    """``retry_after`` is in whole seconds, for the ``Retry-After`` header."""

    type_slug = "too-many-requests"
    status = 429
    title = "Too many requests"


def _may_urge(uow: SqlUnitOfWork, principal: Principal, instance: Instance) -> bool:
    if principal.is_admin or principal.username == instance.started_by:
        return True
    participated = select(HumanTask.id).where(
        HumanTask.instance_id == instance.id, HumanTask.completed_by == principal.username
    )
    return uow.session.scalar(participated.limit(1)) is not None


def urge(ctx: EngineContext, principal: Principal, task_id: str, *, message: str = "") -> HumanTask:
    with SqlUnitOfWork(ctx.db) as uow:
        task = uow.tasks.get(task_id, for_update=True)
        found = uow.instances.get(task.instance_id) if task else None
        if task is None or found is None or not commands.can_see_instance(principal, found):
            raise NotFound(f"task {task_id} not found")
        instance = lock_instance(uow, task)
        if principal.role is Role.INTEGRATOR or not _may_urge(uow, principal, instance):
            raise Forbidden("the starter, an officer who took part, or an admin urges a task")
        if task.state != "open":
            raise Conflict(f"task is already {task.state}", task_state=task.state)
        now = ctx.clock()
        if task.last_urged_at is not None and now < task.last_urged_at + URGE_INTERVAL:
            wait = math.ceil((task.last_urged_at + URGE_INTERVAL - now).total_seconds())
            raise UrgedTooOften(
                f"this task was urged at {task.last_urged_at.isoformat()}; urge again in {wait} s",
                retry_after=wait,
            )
        task.last_urged_at = now
        recipients = {"assignee": task.assignee, "department": task.department}
        event = events.record_task(uow, "task.urged", task, at=now)
        event.data = {**event.data, **recipients, "by": principal.username, "message": message}
        uow.audit.record(
            principal.username,
            "urge",
            instance_id=instance.id,
            task_id=task.id,
            details={**recipients, "message": message},
        )
        uow.commit()
        return task


def add_copies(
    ctx: EngineContext,
    uow: SqlUnitOfWork,
    task: HumanTask,
    *,
    users: list[str],
    departments: list[str],
    by: str,
    note: str,
) -> list[TaskCc]:
    """Copy ``task`` to whoever does not have it yet; returns the new copies."""
    for username in users:
        people.officer(uow.session, username, task.jurisdiction)
    codes = people.departments(ctx, task.jurisdiction, departments) if departments else []
    existing = {
        (cc.username, cc.department)
        for cc in uow.session.scalars(select(TaskCc).where(TaskCc.task_id == task.id))
    }
    wanted: list[tuple[str | None, str | None]] = [(name, None) for name in dict.fromkeys(users)]
    wanted += [(None, code) for code in codes]
    now = ctx.clock()
    copies = [
        TaskCc(
            task_id=task.id,
            instance_id=task.instance_id,
            jurisdiction=task.jurisdiction,
            username=username,
            department=department,
            cc_by=by,
            note=note,
            at=now,
        )
        for username, department in wanted
        if (username, department) not in existing
    ]
    uow.session.add_all(copies)
    recipients = {
        "users": [cc.username for cc in copies if cc.username],
        "departments": [cc.department for cc in copies if cc.department],
    }
    event = events.record_task(uow, "task.cc", task, at=now)
    event.data = {**event.data, **recipients, "by": by, "note": note}
    uow.audit.record(
        by,
        "cc",
        instance_id=task.instance_id,
        task_id=task.id,
        details={**recipients, "note": note},
    )
    return copies


def copy_task(
    ctx: EngineContext,
    principal: Principal,
    task_id: str,
    *,
    users: list[str],
    departments: list[str],
    note: str = "",
) -> list[TaskCc]:
    with SqlUnitOfWork(ctx.db) as uow:
        task, _reach = commands.task_for_action(ctx, uow, principal, task_id)
        copies = add_copies(
            ctx,
            uow,
            task,
            users=users,
            departments=departments,
            by=principal.username,
            note=note.strip(),
        )
        uow.commit()
        return copies
