"""Who reaches a human task: its department, its assignee and delegator, their proxies, CCs.

An officer works on the tasks of their own department.  The approval operations widen
that in three ways, all decided here:

* a task transferred or delegated to an officer (转办, 委派) is theirs even if it belongs
  to another department, and a delegated task stays visible to its delegator (``owner``);
* during an active proxy (代理) the proxy reaches everything the absent officer reaches
  and may act as them;
* a task copied to a user or a department (抄送) can be read there, never acted on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from engine.errors import Forbidden
from engine.identity import Principal, Role
from engine.models import HumanTask, Proxy, TaskCc, User
from engine.repository import TaskQuery

DepartmentKey = tuple[str | None, str]


@dataclass(frozen=True)
class Reach:
    """What a principal reaches right now.

    ``usernames``: the principal and every officer it stands in for as a proxy.
    ``departments``: the (jurisdiction, department) pairs whose tasks it works on; None
    means every department (admins, integrators).  ``absent`` maps each officer it
    stands in for to that officer's department.
    """

    principal: Principal
    usernames: frozenset[str]
    departments: tuple[DepartmentKey, ...] | None
    absent: dict[str, DepartmentKey]

    def sees(self, task: HumanTask) -> bool:
        """May see the task and, unless an integrator, act on it."""
        if self.departments is None:
            return True
        return (
            (task.jurisdiction, task.department) in self.departments
            or task.assignee in self.usernames
            or task.owner in self.usernames
        )

    def acts_as(self, username: str | None) -> bool:
        return self.principal.is_admin or username in self.usernames

    def on_behalf_of(self, task: HumanTask) -> str | None:
        """The absent officer whose rights let the principal act on ``task``, if not its own."""
        own = self.principal
        if (
            own.is_admin
            or own.username in (task.assignee, task.owner)
            or (own.jurisdiction, own.department) == (task.jurisdiction, task.department)
        ):
            return None
        for username, department in self.absent.items():
            if username in (task.assignee, task.owner) or department == (
                task.jurisdiction,
                task.department,
            ):
                return username
        return None


def reach(session: Session, principal: Principal, now: datetime) -> Reach:
    if principal.role in (Role.ADMIN, Role.INTEGRATOR):
        return Reach(principal, frozenset({principal.username}), None, {})
    absent_names = select(Proxy.username).where(
        Proxy.proxy == principal.username,
        Proxy.revoked_at.is_(None),
        Proxy.starts_at <= now,
        Proxy.ends_at > now,
    )
    absent: dict[str, DepartmentKey] = {}
    for user in session.scalars(select(User).where(User.username.in_(absent_names))):
        if user.active and user.department:
            absent[user.username] = (user.jurisdiction, user.department)
    departments: list[DepartmentKey] = list(absent.values())
    if principal.department:
        departments.insert(0, (principal.jurisdiction, principal.department))
    return Reach(
        principal,
        frozenset({principal.username, *absent}),
        tuple(dict.fromkeys(departments)),
        absent,
    )


def reach_to_complete(
    session: Session, principal: Principal, now: datetime, task: HumanTask | None
) -> Reach:
    """``reach`` for completing ``task``, without the proxies query where proxies change nothing.

    An officer's own department's task, unclaimed or claimed by that officer, is one it
    sees, may complete and completes on nobody's behalf whomever it stands in for, so
    the officer alone answers every question ``complete_task`` asks of the reach.
    """
    if (
        task is not None
        and principal.role is Role.OFFICER
        and principal.department
        and (task.jurisdiction, task.department) == (principal.jurisdiction, principal.department)
        and task.assignee in (None, principal.username)
    ):
        own = (principal.jurisdiction, principal.department)
        return Reach(principal, frozenset({principal.username}), (own,), {})
    return reach(session, principal, now)


def copied_to(reach: Reach) -> Select[Any]:
    """Ids of the tasks copied (抄送) to the principal, its department, or whom it stands in for."""
    conditions: list[ColumnElement[bool]] = [TaskCc.username.in_(reach.usernames)]
    conditions += [
        (TaskCc.jurisdiction == jurisdiction) & (TaskCc.department == department)
        for jurisdiction, department in reach.departments or ()
    ]
    return select(TaskCc.task_id).where(or_(*conditions))


def can_read(session: Session, reach: Reach, task: HumanTask) -> bool:
    """Sees the task, or it was copied to them (read-only)."""
    if reach.sees(task):
        return True
    return session.scalar(copied_to(reach).where(TaskCc.task_id == task.id).limit(1)) is not None


SCOPES = ("department", "mine", "all", "cc")


def task_query(reach: Reach, scope: str, **filters: Any) -> TaskQuery:
    """A task list for ``scope``: ``department`` (what the principal works on), ``mine``
    (claimed by the principal), ``all`` (admins and integrators) or ``cc`` (copied to it)."""
    if scope == "all" and reach.departments is not None:
        raise Forbidden("scope=all is for admins and integrators")
    if scope == "cc":
        return TaskQuery(among=copied_to(reach), **filters)
    return TaskQuery(
        departments=reach.departments,
        users=sorted(reach.usernames) if reach.departments is not None else (),
        assignee=reach.principal.username if scope == "mine" else None,
        **filters,
    )
