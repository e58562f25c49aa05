"""Timer start events: processes that start themselves on a date, after a delay or on a cycle.

SpiffWorkflow treats a timer start event as a wait inside an instance that
already exists; a scheduled start needs the opposite, a new instance at each
due time.  So the engine keeps one pending ``start_timer`` job per process
key, pointing at the latest version: deploying a new version replaces it.
When it is due the worker starts the process (once per loaded jurisdiction:
every instance belongs to one, and so does every department that works on
it), fires the start event in the new instance, and schedules the next cycle.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.task import TaskState
from sqlalchemy import select

from engine import clock, starting
from engine.context import EngineContext
from engine.identity import Principal, Role
from engine.models import Definition, Job
from engine.runtime import WorkflowRun
from engine.unit_of_work import SqlUnitOfWork

START_TIMER = "start_timer"
FOREVER = -1
SCHEDULER = Principal(0, "scheduler", Role.ADMIN, None, None)


def timer_start(spec: BpmnProcessSpec) -> TimerEventDefinition | None:
    for task_spec in spec.task_specs.values():
        event = getattr(task_spec, "event_definition", None)
        if isinstance(task_spec, StartEvent) and isinstance(event, TimerEventDefinition):
            return event
    return None


def _first_due(
    ctx: EngineContext, event: TimerEventDefinition, now: datetime
) -> tuple[datetime, int, float]:
    """(first due time, cycles to run (-1: forever), seconds between cycles)."""
    value = ctx.script_engine.environment.evaluate(event.expression, {})
    with clock.using(lambda: now):
        if isinstance(event, CycleTimerEventDefinition):
            cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(value)
            return start, cycles, duration.total_seconds()
        if isinstance(event, DurationTimerEventDefinition):
            duration = TimerEventDefinition.parse_iso_duration(value)
            return now + TimerEventDefinition.get_timedelta_from_start(duration, now), 1, 0.0
        return TimerEventDefinition.get_datetime(value), 1, 0.0


def schedule(
    ctx: EngineContext, uow: SqlUnitOfWork, definition: Definition, spec: BpmnProcessSpec
) -> None:
    """Make the pending start job of ``definition.key`` follow this (latest) version."""
    for job in uow.session.scalars(
        select(Job).where(Job.kind == START_TIMER, Job.state == "pending")
    ):
        if job.payload.get("key") == definition.key:
            uow.session.delete(job)
    event = timer_start(spec)
    if event is None:
        return
    due, cycles, interval = _first_due(ctx, event, ctx.clock())
    uow.session.add(
        Job(
            kind=START_TIMER,
            due_at=due,
            payload={
                "key": definition.key,
                "definition_id": definition.id,
                "cycles": cycles,
                "interval_seconds": interval,
            },
        )
    )


def _fire_start_event(run: WorkflowRun) -> None:
    for task in run.workflow.get_tasks(state=TaskState.WAITING):
        if isinstance(task.task_spec, StartEvent):
            # The job is the timer: mark it fired, as the event definition would.  A
            # cycle start event adds its outgoing path only when a cycle completes,
            # so add it here the way CycleTimerEventDefinition.update_task does.
            if not task.children:
                for output in task.task_spec.outputs:
                    child = task._add_child(output, TaskState.FUTURE)
                    child.task_spec._predict(child, mask=TaskState.NOT_FINISHED_MASK)
            task._set_internal_data(event_fired=True)
            task.task_spec._update(task)
    run.advance()


def fire(ctx: EngineContext, uow: SqlUnitOfWork, job: Job) -> None:
    """The start job handler: one instance per jurisdiction, then the next cycle."""
    payload: dict[str, Any] = job.payload
    latest = uow.definitions.latest("bpmn", payload["key"])
    if latest is None or latest.id != payload["definition_id"]:
        return  # superseded by a newer version, which has its own job
    jurisdictions: list[str | None] = list(ctx.jurisdictions) or [None]
    for jurisdiction in jurisdictions:
        starting.start_in(
            ctx,
            uow,
            SCHEDULER,
            latest,
            {},
            jurisdiction=jurisdiction,
            business_key=None,
            on_started=_fire_start_event,
        )
    cycles = payload["cycles"]
    if cycles == FOREVER or cycles > 1:
        uow.session.add(
            Job(
                kind=START_TIMER,
                due_at=job.due_at + timedelta(seconds=payload["interval_seconds"]),
                payload={**payload, "cycles": cycles if cycles == FOREVER else cycles - 1},
            )
        )
