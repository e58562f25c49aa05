"""Correlating an incoming message to the instances that wait for it, or that it starts.

A message reaches every running instance that waits for its ``name`` (an
intermediate catch event, a receive task or a boundary event) and matches the
``correlation``: ``instance_id`` and ``business_key`` match those columns; any
other key must equal the instance's process variable of that name (the
correlation properties of the model, e.g. ``brand_id``).  When no running
instance waits for it, a deployed process whose start event catches the
message is started instead.  Each instance reached is advanced in its own
transaction, so one failing instance does not block the others.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from sqlalchemy import func, select

from engine import commands, steps
from engine.context import EngineContext
from engine.errors import NotFound
from engine.identity import Principal
from engine.models import Definition, Instance, MessageWait
from engine.runtime import WorkflowRun
from engine.scheduler import waiting_definitions
from engine.unit_of_work import SqlUnitOfWork

COLUMN_KEYS = ("instance_id", "business_key")


@dataclass(frozen=True)
class Delivery:
    instance_id: str
    started: bool


def _matches(instance: Instance, correlation: dict[str, Any]) -> bool:
    for key, value in correlation.items():
        if key == "instance_id":
            if instance.id != value:
                return False
        elif key == "business_key":
            if instance.business_key != value:
                return False
        elif instance.variables.get(key) != value:
            return False
    return True


def _waiting_instances(ctx: EngineContext, name: str, correlation: dict[str, Any]) -> list[str]:
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        query = (
            select(Instance)
            .join(MessageWait, MessageWait.instance_id == Instance.id)
            .where(MessageWait.name == name, Instance.status == "running")
        )
        if "instance_id" in correlation:
            query = query.where(Instance.id == correlation["instance_id"])
        if "business_key" in correlation:
            query = query.where(Instance.business_key == correlation["business_key"])
        candidates = list(uow.session.scalars(query.order_by(Instance.created_at)))
        uow.instances.load_variables(candidates)
    return [i.id for i in candidates if _matches(i, correlation)]


def _deliver(run: WorkflowRun, name: str, variables: dict[str, Any]) -> bool:
    """Let the workflow catch the message; the payload lands in the catching task's data.

    SpiffWorkflow's spiff-flavoured message events keep the payload only when
    the model names a ``messageVariable``; otherwise it would be dropped, so it
    is merged into the catching task's data here.
    """
    waiting = [
        (task, definition)
        for task, definition in waiting_definitions(run)
        if isinstance(definition, MessageEventDefinition) and definition.name == name
    ]
    if not waiting:
        return False
    run.workflow.catch(BpmnEvent(waiting[0][1], payload=deepcopy(variables)))
    for task, definition in waiting:
        caught = name in task.internal_data or task.internal_data.get("seen_events")
        if caught and getattr(definition, "message_var", None) is None:
            task.data.update(deepcopy(variables))
    run.advance()
    return True


def _deliver_to(
    ctx: EngineContext, principal: Principal, instance_id: str, name: str, variables: dict[str, Any]
) -> bool:
    with SqlUnitOfWork(ctx.db) as uow:
        instance = uow.instances.get(instance_id, for_update=True)
        if instance is None or instance.status != "running":
            return False
        run = steps.restore(ctx, uow, instance)
        caught = steps.step(ctx, uow, f"message {name}", lambda: _deliver(run, name, variables))
        if not caught:
            return False
        steps.save(ctx, uow, run, instance)
        uow.audit.record(
            principal.username,
            "message",
            instance_id=instance.id,
            details={"name": name, "variables": variables},
        )
        uow.commit()
    return True


def _message_start_keys(ctx: EngineContext, name: str) -> list[str]:
    """Process keys whose latest version starts on this message."""
    keys = []
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        latest = (
            select(Definition.key, func.max(Definition.version))
            .where(Definition.kind == "bpmn")
            .group_by(Definition.key)
        )
        for key, version in uow.session.execute(latest):
            definition = uow.definitions.version("bpmn", key, version)
            assert definition is not None
            spec = steps.bundle(ctx, uow, definition.id).spec
            for task_spec in spec.task_specs.values():
                event = getattr(task_spec, "event_definition", None)
                if (
                    isinstance(task_spec, StartEvent)
                    and isinstance(event, MessageEventDefinition)
                    and event.name == name
                ):
                    keys.append(key)
                    break
    return keys


def correlate(
    ctx: EngineContext,
    principal: Principal,
    name: str,
    correlation: dict[str, Any],
    variables: dict[str, Any],
) -> list[Delivery]:
    reached = [
        Delivery(instance_id, started=False)
        for instance_id in _waiting_instances(ctx, name, correlation)
        if _visible(ctx, principal, instance_id)
        and _deliver_to(ctx, principal, instance_id, name, variables)
    ]
    if reached:
        return reached
    if "instance_id" in correlation:
        # A message for one existing instance never starts a new one.
        raise NotFound(f"instance {correlation['instance_id']} does not wait for message {name!r}")
    for key in _message_start_keys(ctx, name):
        instance = commands.start_instance(
            ctx,
            principal,
            process_key=key,
            variables={
                **variables,
                **{k: v for k, v in correlation.items() if k not in COLUMN_KEYS},
            },
            business_key=correlation.get("business_key"),
            jurisdiction=variables.get("jurisdiction"),
        )
        if _deliver_to(ctx, principal, instance.id, name, variables):
            reached.append(Delivery(instance.id, started=True))
    if not reached:
        raise NotFound(f"no instance waits for message {name!r} and no process starts on it")
    return reached


def _process_variables(correlation: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in correlation.items() if k not in COLUMN_KEYS}


def _visible(ctx: EngineContext, principal: Principal, instance_id: str) -> bool:
    try:
        commands.get_instance(ctx, principal, instance_id)
    except NotFound:
        return False
    return True
