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

from engine import clock, events, state_catch_up, state_store
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
    """The instance's workflow: this transaction's, the process's live copy, or from the rows."""
    run = uow.runs.get(instance.id) or _live(ctx, uow, instance)
    if run is None:
        run = WorkflowRun.restore(
            bundle(ctx, uow, instance.definition_id),
            state_store.load_state(uow.session, instance),
            ctx.script_engine,
        )
        run.saved_variables = instance.variables
    uow.runs[instance.id] = run
    return run


def _live(ctx: EngineContext, uow: SqlUnitOfWork, instance: Instance) -> WorkflowRun | None:
    """The process's live copy of the workflow, caught up if another process moved it on."""
    found = ctx.live_workflows.take(instance.id)
    if found is None:
        return None
    version, run = found
    if version == instance.version:
        return run
    return run if state_catch_up.catch_up(uow.session, instance, run) else None


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
    ctx: EngineContext,
    uow: SqlUnitOfWork,
    run: WorkflowRun,
    instance: Instance,
    *,
    waits_changed: bool = False,
) -> tuple[list[HumanTask], list[HumanTask]]:
    """Persist a step: state, variables, status, human tasks, timer jobs, message waits.

    ``waits_changed`` says the caller consumed a timer or service-task job, so the
    wait rows must be reconciled even if the workflow seems to wait as before.
    Once committed, the run goes back to ``ctx.live_workflows`` for the next step.
    """
    now = ctx.clock()
    changes = step(
        ctx,
        uow,
        "assigning tasks",
        lambda: sync_human_tasks(
            run,
            instance,
            uow.tasks,
            ctx.forms,
            now,
            ctx.calendar(instance.jurisdiction),
            run.saved_open,
        ),
    )
    # Every change to the instance row before any query, so that it is one UPDATE.
    completing = run.completed and instance.status == "running"
    if completing:
        instance.status = "completed"
        instance.ended_at = now
    instance.updated_at = now
    ended = instance.status not in state_store.ACTIVE
    state_store.save(uow.session, instance, run, snapshot=ended)
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
    if completing:
        events.record(
            uow, "instance.completed", events.instance_data(instance), at=now, instance=instance
        )
    known = None if waits_changed else run.saved_waits
    run.saved_waits = schedule_waits(uow, run, instance, now, known)
    uow.runs[instance.id] = run

    def keep_live() -> None:
        if instance.status in state_store.ACTIVE:
            run.definition_id, run.state_seq = instance.definition_id, instance.state_seq
            ctx.live_workflows.put(instance.id, instance.version, run)

    uow.after_commit(f"live:{instance.id}", keep_live)
    return changes
