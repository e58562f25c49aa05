"""转办 transfer and 委派 delegation: who works on an open task next.

A transfer hands the task over for good: to an officer (it moves to their department and
is claimed for them) or to a department (unclaimed, in that department's inbox).  A
delegation lends it: the delegate works on it and resolves it, and it comes back to the
delegator (``owner``), who completes it.  While a delegation is pending, only the
delegate's resolve moves the task; completing or passing it on answers 409.
"""

from __future__ import annotations

from engine import commands
from engine.approvals import people
from engine.approvals.acting import Acting, lock_instance, on_open_task
from engine.context import EngineContext
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.identity import Principal
from engine.models import HumanTask
from engine.unit_of_work import SqlUnitOfWork

PENDING = "pending"
RESOLVED = "resolved"


def transfer(
    ctx: EngineContext,
    principal: Principal,
    task_id: str,
    *,
    to_user: str | None = None,
    to_department: str | None = None,
    opinion: str = "",
    expected_version: int | None = None,
) -> HumanTask:
    if (to_user is None) == (to_department is None):
        raise InvalidInput("transfer to exactly one of to_user and to_department")
    with SqlUnitOfWork(ctx.db) as uow:
        acting = on_open_task(ctx, uow, principal, task_id, expected_version)
        task = acting.task
        before = {"department": task.department, "assignee": task.assignee}
        if to_user is not None:
            user = people.officer(uow.session, to_user, task.jurisdiction)
            task.department, task.assignee = user.department, user.username
        else:
            [task.department] = people.departments(ctx, task.jurisdiction, [str(to_department)])
            task.assignee = None
        after = {"department": task.department, "assignee": task.assignee}
        if after == before:
            raise InvalidInput("the task is already there")
        task.owner = task.delegation = None
        task.version += 1
        acting.leave_trace(
            "task.transferred", "transfer", {"from": before, "to": after}, opinion=opinion.strip()
        )
        uow.commit()
        return task


def delegate(
    ctx: EngineContext,
    principal: Principal,
    task_id: str,
    *,
    to_user: str,
    opinion: str = "",
    expected_version: int | None = None,
) -> HumanTask:
    with SqlUnitOfWork(ctx.db) as uow:
        acting = on_open_task(ctx, uow, principal, task_id, expected_version)
        task = acting.task
        delegate_user = people.officer(uow.session, to_user, task.jurisdiction)
        if delegate_user.username == principal.username:
            raise InvalidInput("a task cannot be delegated to oneself")
        task.owner = principal.username
        task.assignee = delegate_user.username
        task.delegation = PENDING
        task.version += 1
        acting.leave_trace(
            "task.delegated",
            "delegate",
            {"owner": task.owner, "delegate": task.assignee},
            opinion=opinion.strip(),
        )
        uow.commit()
        return task


def resolve(
    ctx: EngineContext,
    principal: Principal,
    task_id: str,
    *,
    opinion: str = "",
    expected_version: int | None = None,
) -> HumanTask:
    """The delegate hands the task back to its delegator, with an opinion."""
    with SqlUnitOfWork(ctx.db) as uow:
        task, reach = commands.task_for_action(ctx, uow, principal, task_id)
        instance = lock_instance(uow, task)
        if task.state != "open" or task.delegation != PENDING:
            raise Conflict("the task is not waiting for a delegate", delegation=task.delegation)
        if expected_version is not None and expected_version != task.version:
            raise Conflict(f"task version is {task.version}, not {expected_version}")
        if not reach.acts_as(task.assignee):
            raise Forbidden(f"only the delegate {task.assignee} resolves this task")
        acting = Acting.start(ctx, uow, principal, reach, task, instance)
        delegate_user = task.assignee
        task.assignee = task.owner
        task.delegation = RESOLVED
        task.version += 1
        acting.leave_trace(
            "task.resolved",
            "resolve",
            {"delegate": delegate_user, "owner": task.owner},
            opinion=opinion.strip(),
        )
        uow.commit()
        return task
