"""Running one workflow step inside a unit of work, and persisting its outcome.

Shared by the commands (start, complete, terminate) and the job worker
(timers): each loads the instance's workflow, runs a step with the unit of
work's session and the engine's clock in scope, then calls ``save``, which
writes the state, the human-task rows and the timer jobs in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException

from engine import clock, events
from engine.ambient import step_session
from engine.context import EngineContext
from engine.errors import HuiqianError, ScriptError
from engine.human_tasks import sync_human_tasks
from engine.models import HumanTask, Instance, Job
from engine.runtime import SpecBundle, WorkflowRun
from engine.scheduler import schedule_waits
from engine.unit_of_work import SqlUnitOfWork

T = TypeVar("T")
TASK_DUE = "task_due"


def bundle(ctx: EngineContext, uow: SqlUnitOfWork, definition_id: str) -> SpecBundle:
    def load() -> dict[str, Any]:
        definition = uow.definitions.get(definition_id)
        assert definition is not None and definition.spec is not None
        return definition.spec

    return ctx.spec_cache.get(definition_id, load)


def restore(ctx: EngineContext, uow: SqlUnitOfWork, instance: Instance) -> WorkflowRun:
    return WorkflowRun.restore(
        bundle(ctx, uow, instance.definition_id), instance.state, ctx.script_engine
    )


def step(ctx: EngineContext, uow: SqlUnitOfWork, action: str, fn: Callable[[], T]) -> T:
    """Run ``fn`` as a workflow step, turning SpiffWorkflow failures into engine errors."""
    try:
        with step_session(uow.session), clock.using(ctx.clock):
            return fn()
    except HuiqianError:
        raise
    except (WorkflowException, SpiffWorkflowException) as exc:
        cause = exc.__cause__ or getattr(exc, "error", None)
        if isinstance(cause, HuiqianError):
            raise cause from exc
        raise ScriptError(f"{action} failed: {exc}") from exc


def save(
    ctx: EngineContext, uow: SqlUnitOfWork, run: WorkflowRun, instance: Instance
) -> tuple[list[HumanTask], list[HumanTask]]:
    """Persist a step: state, variables, status, human tasks, timer jobs, message waits."""
    now = ctx.clock()
    changes = step(
        ctx,
        uow,
        "assigning tasks",
        lambda: sync_human_tasks(
            run, instance, uow.tasks, ctx.forms, now, ctx.calendar(instance.jurisdiction)
        ),
    )
    instance.state = run.dump()
    instance.variables = run.variables()
    instance.updated_at = now
    created, _cancelled = changes
    for task in created:
        events.record_task(uow, "task.created", task, at=now)
        if task.due_at is not None:
            uow.session.add(
                Job(
                    kind=TASK_DUE,
                    instance_id=instance.id,
                    due_at=task.due_at,
                    payload={"task_id": task.id},
                )
            )
    if run.completed and instance.status == "running":
        instance.status = "completed"
        instance.ended_at = now
        events.record(
            uow, "instance.completed", events.instance_data(instance), at=now, instance=instance
        )
    schedule_waits(uow, run, instance, now)
    return changes
