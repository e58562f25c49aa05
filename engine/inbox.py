"""An officer's inbox: the tabs of the web UI, what each holds, and their counts.

Read-only.  Every tab is what ``approvals.access`` lets the officer reach (own
department, tasks transferred or delegated to them, those of officers they
stand in for, copies), so no tab shows or counts another department's tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from engine.approvals import access
from engine.context import EngineContext
from engine.identity import Principal, Role
from engine.models import HumanTask
from engine.repository import Page, TaskQuery
from engine.unit_of_work import SqlUnitOfWork


class Tab(StrEnum):
    MINE = "mine"  # open tasks I claimed
    DEPARTMENT = "department"  # open tasks of my departments, claimed or not
    DONE = "done"  # tasks I completed
    CC = "cc"  # copied to me or my department for information (抄送), read-only


class TaskState(StrEnum):
    """The filter on the state of a to-do."""

    UNCLAIMED = "unclaimed"
    CLAIMED = "claimed"
    OVERDUE = "overdue"


@dataclass(frozen=True)
class InboxQuery:
    tab: Tab = Tab.DEPARTMENT
    process_key: str | None = None
    state: TaskState | None = None
    page: Page = Page()


@dataclass(frozen=True)
class Inbox:
    tasks: list[HumanTask]
    total: int
    counts: dict[Tab, int]
    process_names: dict[str, str]  # every process the tabs hold → its name, for the filter
    now: datetime


def is_overdue(task: HumanTask, now: datetime) -> bool:
    return task.state == "open" and task.due_at is not None and task.due_at < now


def _tab_query(reach: access.Reach, tab: Tab) -> TaskQuery:
    if tab is Tab.MINE:
        return access.task_query(reach, "mine", state="open")
    if tab is Tab.DEPARTMENT:
        return access.task_query(reach, "department", state="open")
    if tab is Tab.DONE:
        return replace(
            access.task_query(reach, "department"), completed_by=reach.principal.username
        )
    return access.task_query(reach, "cc")


def _filtered(query: TaskQuery, wanted: InboxQuery, now: datetime) -> TaskQuery:
    state = wanted.state
    return replace(
        query,
        process_key=wanted.process_key,
        claimed=None if state in (None, TaskState.OVERDUE) else state is TaskState.CLAIMED,
        due_before=now if state is TaskState.OVERDUE else None,
    )


def inbox(ctx: EngineContext, principal: Principal, wanted: InboxQuery) -> Inbox:
    now = ctx.clock()
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        reach = access.reach(uow.session, principal, now)
        queries = {tab: _tab_query(reach, tab) for tab in Tab}
        counts = {tab: uow.tasks.count(q) for tab, q in queries.items()}
        keys = sorted({key for q in queries.values() for key in uow.tasks.process_keys(q)})
        names = {}
        for key in keys:
            definition = uow.definitions.latest("bpmn", key)
            names[key] = definition.name if definition and definition.name else key
        tasks, total = uow.tasks.list(wanted.page, _filtered(queries[wanted.tab], wanted, now))
    return Inbox(tasks, total, counts, names, now)


def can_act(ctx: EngineContext, principal: Principal, task: HumanTask) -> bool:
    """Whether the principal may work on the task, not only read it (a copy, 抄送, is read-only)."""
    if principal.role is Role.INTEGRATOR:
        return False
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        return access.reach(uow.session, principal, ctx.clock()).sees(task)
