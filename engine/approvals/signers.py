"""加签 / 减签: adding signers to, or removing a pending signer from, a running co-review.

The co-review is the instance's running multi-instance user task over a mapping of
departments (co_review's ``reviewers``), also inside a called co_review.  New signers go
``parallel`` (new tasks now), ``before`` (they answer first: the pending departments'
tasks are withdrawn and reopened after them) or ``after`` (once the pending ones have
answered).  A sequential (依次) co-review takes ``before`` (next in turn, ahead of the
department whose turn it is) or ``after`` (at the end of the order).

After a change the number of approvals the rule needs (``required``) is recomputed for
the new number of signers, and a rule that is now decided ends the co-review.  The
lead department (牵头部门) of the jurisdiction, the starter and admins change signers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.task import Task

from engine import commands, events, steps
from engine.approvals import multi_instance, opinions, people
from engine.approvals.multi_instance import Position
from engine.context import EngineContext
from engine.errors import Conflict, Forbidden, NotFound
from engine.identity import Principal, Role
from engine.models import HumanTask, Instance
from engine.runtime import WorkflowRun
from engine.unit_of_work import SqlUnitOfWork


@dataclass(frozen=True)
class SignerState:
    """The signers of the running co-review after an operation, and the tasks it opened."""

    rule: str | None
    required: int | None
    signers: multi_instance.Signers
    created: list[HumanTask] = field(default_factory=list)


def required_for(rule: str | None, signers: int) -> int:
    """Approvals a rule needs among ``signers`` departments, as co_review's 确定会签部门 counts."""
    kind, _, ratio = (rule or "all").partition(":")
    if kind == "any":
        return 1
    if kind == "ratio":
        return next(k for k in range(1, signers + 1) if k / signers >= float(ratio))
    return signers


def _running_loop(run: WorkflowRun) -> Task:
    loops = multi_instance.running_loops(run.workflow.get_tasks())
    if not loops:
        raise Conflict("no co-review is running in this instance")
    if len(loops) > 1:
        raise Conflict("several co-reviews are running in this instance: change them one by one")
    return loops[0]


def _state(loop: Task, created: list[HumanTask] | None = None) -> SignerState:
    required = loop.data.get("required")
    return SignerState(
        rule=loop.data.get("rule"),
        required=required if isinstance(required, int) else None,
        signers=multi_instance.signers_of(loop),
        created=created or [],
    )


def _recount(loop: Task) -> None:
    if "required" in loop.data:
        n = multi_instance.signer_count(loop)
        loop.data["required"] = required_for(loop.data.get("rule"), n)


def _visible_instance(uow: SqlUnitOfWork, principal: Principal, instance_id: str) -> Instance:
    instance = uow.instances.get(instance_id, for_update=True)
    if instance is None or not commands.can_see_instance(principal, instance):
        raise NotFound(f"instance {instance_id} not found")
    return instance


def _managed_instance(
    ctx: EngineContext, uow: SqlUnitOfWork, principal: Principal, instance_id: str
) -> Instance:
    instance = _visible_instance(uow, principal, instance_id)
    pack = ctx.jurisdictions.get(instance.jurisdiction) if instance.jurisdiction else None
    lead = pack is not None and (
        principal.role is Role.OFFICER
        and principal.jurisdiction == instance.jurisdiction
        and principal.department == pack.lead
    )
    if not (lead or principal.is_admin or principal.username == instance.started_by):
        raise Forbidden("the lead department (牵头部门), the starter or an admin changes signers")
    if instance.status != "running":
        raise Conflict(f"instance is {instance.status}, not running")
    return instance


def _change(
    ctx: EngineContext,
    principal: Principal,
    instance_id: str,
    change: Callable[[Task, Instance], None],
    *,
    event_type: str,
    action: str,
    details: dict[str, Any],
    opinion: str,
) -> SignerState:
    """Apply ``change(loop, instance)`` to the running co-review; recount, settle, save, trace."""
    with SqlUnitOfWork(ctx.db) as uow:
        instance = _managed_instance(ctx, uow, principal, instance_id)
        run = steps.restore(ctx, uow, instance)
        loop = _running_loop(run)

        def apply() -> None:
            change(loop, instance)
            _recount(loop)
            multi_instance.settle(loop)
            run.advance()

        steps.step(ctx, uow, action, apply)
        created, _cancelled = steps.save(ctx, uow, run, instance)
        now = ctx.clock()
        payload = {**details, "by": principal.username}
        events.record(
            uow,
            event_type,
            {**events.instance_data(instance), **payload},
            at=now,
            instance=instance,
        )
        uow.audit.record(principal.username, action, instance_id=instance.id, details=details)
        opinions.record(
            uow,
            instance_id=instance.id,
            task=None,
            officer=principal.username,
            action=action,
            opinion=opinion.strip(),
            at=now,
        )
        uow.commit()
        return _state(loop, created)


def add_signers(
    ctx: EngineContext,
    principal: Principal,
    instance_id: str,
    *,
    departments: list[str],
    position: Position,
    opinion: str = "",
) -> SignerState:
    codes = list(dict.fromkeys(departments))

    def add(loop: Task, instance: Instance) -> None:
        multi_instance.add(loop, people.departments(ctx, instance.jurisdiction, codes), position)

    return _change(
        ctx,
        principal,
        instance_id,
        add,
        event_type="task.signers_added",
        action="add_signers",
        details={"departments": codes, "position": position.value},
        opinion=opinion,
    )


def remove_signer(
    ctx: EngineContext, principal: Principal, instance_id: str, department: str, opinion: str = ""
) -> SignerState:
    return _change(
        ctx,
        principal,
        instance_id,
        lambda loop, _instance: multi_instance.remove(loop, department),
        event_type="task.signers_removed",
        action="remove_signer",
        details={"department": department},
        opinion=opinion,
    )


def current_signers(ctx: EngineContext, principal: Principal, instance_id: str) -> SignerState:
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        instance = _visible_instance(uow, principal, instance_id)
        if instance.status != "running":
            raise Conflict(f"instance is {instance.status}, not running")
        return _state(_running_loop(steps.restore(ctx, uow, instance)))
