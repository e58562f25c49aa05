"""Starting an instance: the variables a jurisdiction gives it, its first step, its first save.

Used by the start command, by message start events and by scheduled (timer)
starts, each inside its own unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine import events, steps
from engine.context import EngineContext
from engine.errors import InvalidInput, NotFound
from engine.identity import Principal
from engine.models import Definition, Instance, new_id
from engine.runtime import WorkflowRun
from engine.unit_of_work import SqlUnitOfWork


def _jurisdiction_variables(
    ctx: EngineContext, jurisdiction_id: str | None, variables: dict[str, Any]
) -> dict[str, Any]:
    """Variables every process started for a jurisdiction can rely on.

    The roster is data (``bpmn/jurisdictions/*.yaml``), so processes read it from
    these variables instead of naming departments.  ``roster`` and
    ``measure_departments`` are as long as the roster, so task rows leave them out
    of their data (``engine.human_tasks.ROSTER_SIZED_VARIABLES``).
    """
    if jurisdiction_id is None:
        return {}
    jurisdiction = ctx.jurisdictions.get(jurisdiction_id)
    if jurisdiction is None:
        raise InvalidInput(f"unknown jurisdiction {jurisdiction_id!r}")
    extra: dict[str, Any] = {
        "jurisdiction": jurisdiction.id,
        "lead_department": jurisdiction.lead,
        "roster": jurisdiction.department_codes(),
    }
    measure_id = variables.get("measure")
    if measure_id:
        try:
            extra["measure_departments"] = list(jurisdiction.measure(measure_id).departments)
        except NotFound:
            raise InvalidInput(
                f"jurisdiction {jurisdiction.id!r} has no measure {measure_id!r}"
            ) from None
    explicit = variables.get("departments")
    if explicit is not None:
        roster = set(extra["roster"])
        unknown = (
            [code for code in explicit if code not in roster]
            if isinstance(explicit, list)
            else [explicit]
        )
        if unknown:
            raise InvalidInput(
                f"not departments of {jurisdiction.id}: {', '.join(map(str, unknown))}"
            )
    return extra


def start_in(
    ctx: EngineContext,
    uow: SqlUnitOfWork,
    principal: Principal,
    definition: Definition,
    variables: dict[str, Any],
    *,
    jurisdiction: str | None,
    business_key: str | None,
    on_started: Callable[[WorkflowRun], None] | None = None,
) -> Instance:
    """Start an instance inside ``uow`` (the caller commits).

    ``on_started`` runs on the new workflow before it is first saved, e.g. to
    fire the timer start event that a scheduled start is for.
    """
    instance_id = new_id()
    start_vars = {
        **variables,
        **_jurisdiction_variables(ctx, jurisdiction, variables),
        "instance_id": instance_id,
    }
    if business_key:
        start_vars["business_key"] = business_key
    bundle = steps.bundle(ctx, uow, definition.id)

    def start() -> WorkflowRun:
        run = WorkflowRun.start(bundle, start_vars, ctx.script_engine)
        if on_started is not None:
            on_started(run)
        return run

    run = steps.step(ctx, uow, "starting", start)
    now = ctx.clock()
    instance = Instance(
        id=instance_id,
        definition_id=definition.id,
        process_key=definition.key,
        business_key=business_key,
        jurisdiction=jurisdiction,
        status="running",
        state={},
        started_by=principal.username,
        created_at=now,
    )
    uow.instances.add(instance)
    uow.flush()
    events.record(
        uow, "instance.started", events.instance_data(instance), at=now, instance=instance
    )
    steps.save(ctx, uow, run, instance)
    uow.audit.record(
        principal.username,
        "start",
        instance_id=instance.id,
        details={"process_key": definition.key, "version": definition.version},
    )
    return instance
