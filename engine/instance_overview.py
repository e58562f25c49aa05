"""What the instance page shows: the diagram, where the instance stands on it,
its history and every department's opinion.

Where it stands comes from two sources: the task rows (human tasks, open or
done) and the SpiffWorkflow state, which also knows the script, service and
event elements that ran.  Element ids are kept only if the definition's own XML
has them: a called process from another file has its own ``start``/``end``,
which must not light up this diagram's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from engine import state_store
from engine.commands import get_instance
from engine.context import EngineContext
from engine.identity import Principal
from engine.models import AuditEntry, Definition, HumanTask, Incident, Instance
from engine.unit_of_work import SqlUnitOfWork
from engine.xml_safety import check_and_parse

_RUNNING = TaskState.READY | TaskState.STARTED | TaskState.WAITING


@dataclass(frozen=True)
class Markers:
    """BPMN element ids by what happened there; an element is in one set at most."""

    done: frozenset[str]
    active: frozenset[str]
    failed: frozenset[str]

    def as_dict(self) -> dict[str, list[str]]:
        return {name: sorted(getattr(self, name)) for name in ("done", "active", "failed")}


@dataclass(frozen=True)
class Opinion:
    department: str | None
    decision: Any
    opinion: str
    by: str | None
    at: datetime | None


@dataclass(frozen=True)
class InstanceOverview:
    instance: Instance
    definition: Definition
    tasks: list[HumanTask]
    history: list[AuditEntry]
    markers: Markers
    opinions: list[Opinion]


def _element_ids(xml: bytes) -> set[str]:
    return {str(element.get("id")) for element in check_and_parse(xml).iter() if element.get("id")}


def _spiff_tasks(state: Mapping[str, Any], ids: set[str]) -> Iterator[tuple[str, int]]:
    """(element id, TaskState) of the workflow's tasks and of its subprocesses drawn here."""
    yield from ((t["task_spec"], t["state"]) for t in state.get("tasks", {}).values())
    for sub in state.get("subprocesses", {}).values():
        if sub.get("spec") in ids:
            yield from _spiff_tasks(sub, ids)


def _markers(
    state: Mapping[str, Any], tasks: list[HumanTask], incidents: list[Incident], ids: set[str]
) -> Markers:
    done, active, failed = set(), set(), {i.element_id for i in incidents if i.element_id}
    for spec, task_state in _spiff_tasks(state, ids):
        if task_state & TaskState.COMPLETED:
            done.add(spec)
        elif task_state & _RUNNING:
            active.add(spec)
        elif task_state & TaskState.ERROR:
            failed.add(spec)
    done |= {t.bpmn_id for t in tasks if t.state == "completed"}
    active |= {t.bpmn_id for t in tasks if t.state == "open"}
    failed &= ids
    active = (active & ids) - failed
    return Markers(
        done=frozenset((done & ids) - active - failed),
        active=frozenset(active),
        failed=frozenset(failed),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def opinions(instance: Instance, tasks: list[HumanTask]) -> list[Opinion]:
    """Each completed task's decision and opinion, then the ``opinions`` variable's others.

    A co-review collects ``opinions[department]`` only when its last department
    answers; the task rows have them as soon as each one does.
    """
    found = [
        Opinion(
            t.department,
            t.result.get("decision", t.result.get("approved")),
            _text(t.result.get("opinion")),
            t.completed_by,
            t.completed_at,
        )
        for t in tasks
        if t.state == "completed" and t.result is not None
    ]
    answered = {o.department for o in found}
    variable = instance.variables.get("opinions")
    if isinstance(variable, dict):
        found += [
            Opinion(
                department, o.get("decision"), _text(o.get("opinion")), o.get("completed_by"), None
            )
            for department, o in variable.items()
            if department not in answered and isinstance(o, dict)
        ]
    return found


def instance_overview(
    ctx: EngineContext, principal: Principal, instance_id: str
) -> InstanceOverview:
    """NotFound unless the principal may see the instance (``commands.get_instance``)."""
    instance = get_instance(ctx, principal, instance_id)
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        definition = uow.definitions.get(instance.definition_id)
        assert definition is not None
        tasks = uow.tasks.for_instance(instance_id)
        incidents = list(
            uow.session.scalars(
                select(Incident).where(
                    Incident.instance_id == instance_id, Incident.resolved_at.is_(None)
                )
            )
        )
        history = uow.audit.for_instance(instance_id)
        state = state_store.load_state(uow.session, instance)
    markers = _markers(state, tasks, incidents, _element_ids(definition.xml))
    return InstanceOverview(
        instance, definition, tasks, history, markers, opinions(instance, tasks)
    )


def instance_opinions(
    ctx: EngineContext, principal: Principal, instance_id: str
) -> tuple[Instance, list[Opinion]]:
    """The instance and its opinions so far, for a task page; NotFound as ``get_instance``."""
    instance = get_instance(ctx, principal, instance_id)
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        tasks = uow.tasks.for_instance(instance_id)
    return instance, opinions(instance, tasks)


def instance_definition(ctx: EngineContext, principal: Principal, instance_id: str) -> Definition:
    """The definition an instance runs (its diagram); NotFound as ``get_instance``."""
    instance = get_instance(ctx, principal, instance_id)
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        definition = uow.definitions.get(instance.definition_id)
    assert definition is not None
    return definition
