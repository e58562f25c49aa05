"""驳回 reject: an officer refuses the whole matter from their task, with a reason.

The instance ends at once, whatever path the model would have taken next: its status
becomes ``terminated`` (reason ``驳回：<opinion>``), ``variables.result`` becomes
``rejected``, and every open task is cancelled.  A model's own rejection path (a form
decision ``reject`` leading to a 不同意 branch) is taken by completing the task with that
decision instead; this operation is for refusing outright.

Inside a co-review one department cannot end the matter for all the others: it answers
``reject`` and the completion rule decides (422 here).
"""

from __future__ import annotations

from engine import commands, steps
from engine.approvals import multi_instance, opinions
from engine.approvals.acting import Outcome, on_open_task
from engine.context import EngineContext
from engine.errors import InvalidInput
from engine.identity import Principal
from engine.unit_of_work import SqlUnitOfWork

REJECTED = "rejected"


def reject_task(
    ctx: EngineContext,
    principal: Principal,
    task_id: str,
    *,
    opinion: str,
    expected_version: int | None = None,
) -> Outcome:
    reason = opinions.require(opinion, "to reject")
    with SqlUnitOfWork(ctx.db) as uow:
        acting = on_open_task(ctx, uow, principal, task_id, expected_version)
        task, instance = acting.task, acting.instance
        spiff_task = steps.restore(ctx, uow, instance).task(task.id)
        if spiff_task is not None and multi_instance.loop_of(spiff_task) is not None:
            raise InvalidInput(
                "a co-review department rejects by its answer (decision reject); "
                "the co-review's rule decides the outcome"
            )
        commands.end_instance(
            ctx,
            uow,
            instance,
            actor=principal.username,
            details={"reason": f"驳回：{reason}", "rejected_task_id": task.id},
        )
        instance.variables = {**instance.variables, "result": REJECTED}
        acting.leave_trace(
            "task.rejected", "reject", {"element": task.bpmn_id}, opinion=reason, decision="reject"
        )
        uow.commit()
        return Outcome(task, instance, [])
