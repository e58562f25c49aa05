"""What every operation on one task shares: lock, check, and leave its trace.

An operation locks the task and then its instance (the order ``complete_task`` uses, so
two writers never wait on each other crosswise), checks that the task is open and that
the caller may act on it, and records its outcome three ways in the same transaction:
an audit entry, an event, and an opinion (意见).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from engine import commands, events
from engine.approvals import opinions
from engine.approvals.access import Reach
from engine.context import EngineContext
from engine.errors import Conflict, Forbidden
from engine.identity import Principal
from engine.models import HumanTask, Instance
from engine.unit_of_work import SqlUnitOfWork


@dataclass(frozen=True)
class Acting:
    """A principal acting on one locked task of a locked, running instance.

    ``on_behalf_of`` is the absent officer the principal stands in for (代理), taken
    before the operation changes who the task belongs to.
    """

    uow: SqlUnitOfWork
    principal: Principal
    task: HumanTask
    instance: Instance
    now: datetime
    on_behalf_of: str | None

    @classmethod
    def start(
        cls,
        ctx: EngineContext,
        uow: SqlUnitOfWork,
        principal: Principal,
        reach: Reach,
        task: HumanTask,
        instance: Instance,
    ) -> Acting:
        return cls(uow, principal, task, instance, ctx.clock(), reach.on_behalf_of(task))

    def leave_trace(
        self,
        event_type: str,
        action: str,
        details: dict[str, Any],
        *,
        opinion: str = "",
        decision: str | None = None,
    ) -> None:
        """Audit entry, event and opinion for what the principal just did to the task."""
        by = {"by": self.principal.username, "on_behalf_of": self.on_behalf_of}
        event = events.record_task(self.uow, event_type, self.task, at=self.now)
        event.data = {**event.data, **details, **by}
        self.uow.audit.record(
            self.principal.username,
            action,
            instance_id=self.instance.id,
            task_id=self.task.id,
            details={**details, "opinion": opinion, "on_behalf_of": self.on_behalf_of},
        )
        opinions.record(
            self.uow,
            instance_id=self.instance.id,
            task=self.task,
            officer=self.principal.username,
            on_behalf_of=self.on_behalf_of,
            action=action,
            decision=decision,
            opinion=opinion,
            at=self.now,
        )


@dataclass(frozen=True)
class Outcome:
    """What an operation that moves the workflow did: the task acted on, the tasks it opened."""

    task: HumanTask
    instance: Instance
    created: list[HumanTask]


def lock_instance(uow: SqlUnitOfWork, task: HumanTask) -> Instance:
    instance = uow.instances.get(task.instance_id, for_update=True)
    assert instance is not None
    uow.session.refresh(task)
    if instance.status != "running":
        raise Conflict(
            f"instance is {instance.status}, not running", instance_status=instance.status
        )
    return instance


def on_open_task(
    ctx: EngineContext,
    uow: SqlUnitOfWork,
    principal: Principal,
    task_id: str,
    expected_version: int | None = None,
) -> Acting:
    """The open task ``principal`` may act on: theirs, unclaimed in their reach, or an admin."""
    task, reach = commands.task_for_action(ctx, uow, principal, task_id)
    instance = lock_instance(uow, task)
    commands.check_open(task, expected_version)
    if task.assignee is not None and not reach.acts_as(task.assignee):
        raise Forbidden(f"task is claimed by {task.assignee}: only they may pass it on")
    return Acting.start(ctx, uow, principal, reach, task, instance)
