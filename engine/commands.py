"""The engine's use cases: each function is one transaction.

Views and the CLI call these and nothing below them.  Every command takes the
acting ``Principal``, checks what that principal may do, changes state through
one unit of work, records an audit entry in the same transaction, and commits.
A failure anywhere rolls the whole command back.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import jsonschema
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine import events, starting, steps, timer_starts
from engine.approvals import access, opinions
from engine.context import EngineContext
from engine.decisions import evaluate_decision, parse_decisions
from engine.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
)
from engine.human_tasks import form_schema
from engine.identity import Principal, Role
from engine.models import Definition, HumanTask, Instance
from engine.process_parser import Dependencies, main_process, parse_bpmn
from engine.runtime import SERIALIZATION, SpecBundle
from engine.unit_of_work import SqlUnitOfWork
from engine.xml_safety import check_and_parse

BPMN_NS = b"http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_NAMESPACES = (b"https://www.omg.org/spec/DMN/", b"http://www.omg.org/spec/DMN/")


def _require(principal: Principal, *roles: Role) -> None:
    if principal.role not in roles:
        raise Forbidden(f"this action needs one of the roles: {', '.join(r.value for r in roles)}")


# --- definitions -----------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    definition: Definition
    created: bool
    deployed: list[Definition]


def _dependencies(ctx: EngineContext, uow: SqlUnitOfWork) -> Dependencies:
    def latest_xml(kind: str, key: str) -> bytes | None:
        found = uow.definitions.latest(kind, key)
        return found.xml if found else None

    return Dependencies(
        process_xml=lambda key: latest_xml("bpmn", key),
        decision_xml=lambda key: latest_xml("dmn", key),
        handlers=ctx.handlers,
    )


def _store_version(
    uow: SqlUnitOfWork,
    kind: str,
    key: str,
    name: str,
    xml: bytes,
    filename: str,
    spec: dict[str, Any] | None,
    actor: str,
) -> tuple[Definition, bool]:
    """Same content as the latest version → that version; changed → version + 1."""
    checksum = hashlib.sha256(xml).hexdigest()
    latest = uow.definitions.latest(kind, key)
    if latest is not None and latest.checksum == checksum:
        return latest, False
    definition = Definition(
        kind=kind,
        key=key,
        version=(latest.version + 1) if latest else 1,
        name=name,
        filename=filename,
        checksum=checksum,
        xml=xml,
        spec=spec,
        deployed_by=actor,
    )
    uow.definitions.add(definition)
    uow.flush()
    uow.audit.record(
        actor, "deploy", details={"kind": kind, "key": key, "version": definition.version}
    )
    return definition, True


def _is_dmn(xml: bytes, filename: str) -> bool:
    head = xml[:4096]
    return filename.lower().endswith(".dmn") or (
        any(ns in head for ns in DMN_NAMESPACES) and BPMN_NS not in head
    )


def deploy(ctx: EngineContext, principal: Principal, xml: bytes, filename: str) -> Deployment:
    """Validate and deploy a BPMN or DMN file; every process/decision in it gets a version."""
    _require(principal, Role.DESIGNER, Role.ADMIN)
    items: list[tuple[str, str, dict[str, Any] | None]]
    with SqlUnitOfWork(ctx.db) as uow:
        if _is_dmn(xml, filename):
            check_and_parse(xml, filename=filename)
            items = [
                (info.key, info.name, None) for info in parse_decisions(xml, filename).values()
            ]
            kind = "dmn"
            specs = {}
        else:
            parsed = parse_bpmn(xml, filename, _dependencies(ctx, uow))
            main_key = main_process(parsed).key
            parsed.sort(key=lambda p: p.key != main_key)
            items = [
                (p.key, p.name, SERIALIZATION.spec_to_dict(SpecBundle(p.spec, p.subprocess_specs)))
                for p in parsed
            ]
            specs = {p.key: p.spec for p in parsed}
            kind = "bpmn"
        results = [
            _store_version(uow, kind, key, name, xml, filename, spec, principal.username)
            for key, name, spec in items
        ]
        for definition, created in results:
            if created and definition.key in specs:
                timer_starts.schedule(ctx, uow, definition, specs[definition.key])
        uow.commit()
    first, created = results[0]
    return Deployment(first, created, [definition for definition, _ in results])


def check_definition(
    ctx: EngineContext, principal: Principal, xml: bytes, filename: str
) -> tuple[str, list[str]]:
    """Validate a file exactly as ``deploy`` would, storing nothing: (kind, keys it defines).

    Lets a designer find what is wrong, and on which element, before a version exists.
    """
    _require(principal, Role.DESIGNER, Role.ADMIN)
    if _is_dmn(xml, filename):
        check_and_parse(xml, filename=filename)
        return "dmn", list(parse_decisions(xml, filename))
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        parsed = parse_bpmn(xml, filename, _dependencies(ctx, uow))
    return "bpmn", [p.key for p in parsed]


# --- instances -------------------------------------------------------------


def can_see_instance(principal: Principal, instance: Instance) -> bool:
    """Officers work within their jurisdiction; departments exist only inside one."""
    if principal.role is not Role.OFFICER:
        return True
    return instance.jurisdiction == principal.jurisdiction


def start_instance(
    ctx: EngineContext,
    principal: Principal,
    *,
    process_key: str,
    variables: dict[str, Any],
    version: int | None = None,
    jurisdiction: str | None = None,
    business_key: str | None = None,
) -> Instance:
    if principal.role is Role.OFFICER:
        if jurisdiction not in (None, principal.jurisdiction):
            raise Forbidden("officers start processes of their own jurisdiction only")
        jurisdiction = principal.jurisdiction
    jurisdiction = jurisdiction or variables.get("jurisdiction")
    with SqlUnitOfWork(ctx.db) as uow:
        definition = (
            uow.definitions.version("bpmn", process_key, version)
            if version
            else uow.definitions.latest("bpmn", process_key)
        )
        if definition is None:
            raise InvalidInput(
                f"process {process_key!r} (version {version or 'latest'}) is not deployed"
            )
        instance = starting.start_in(
            ctx,
            uow,
            principal,
            definition,
            variables,
            jurisdiction=jurisdiction,
            business_key=business_key,
        )
        uow.commit()
    return instance


def get_instance(ctx: EngineContext, principal: Principal, instance_id: str) -> Instance:
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        instance = uow.instances.get(instance_id)
        if instance is None or not can_see_instance(principal, instance):
            raise NotFound(f"instance {instance_id} not found")
        return instance


def terminate_instance(
    ctx: EngineContext, principal: Principal, instance_id: str, reason: str
) -> Instance:
    with SqlUnitOfWork(ctx.db) as uow:
        instance = uow.instances.get(instance_id, for_update=True)
        if instance is None or not can_see_instance(principal, instance):
            raise NotFound(f"instance {instance_id} not found")
        if not (principal.is_admin or principal.username == instance.started_by):
            raise Forbidden("only an admin or the starter may terminate an instance")
        if instance.status not in ("running", "error"):
            raise Conflict(f"instance is {instance.status}, not running")
        end_instance(ctx, uow, instance, actor=principal.username, details={"reason": reason})
        uow.commit()
    return instance


def end_instance(
    ctx: EngineContext,
    uow: SqlUnitOfWork,
    instance: Instance,
    *,
    actor: str,
    details: dict[str, Any],
) -> None:
    """Cancel a locked instance's workflow and mark it terminated; the caller checked who may."""
    run = steps.restore(ctx, uow, instance)
    steps.step(ctx, uow, "terminating", run.cancel)
    instance.status = "terminated"
    instance.ended_at = ctx.clock()
    steps.save(ctx, uow, run, instance)  # cancels the open tasks, timer jobs, message waits
    events.record(
        uow,
        "instance.terminated",
        {**events.instance_data(instance), **details},
        at=instance.ended_at,
        instance=instance,
    )
    uow.audit.record(actor, "terminate", instance_id=instance.id, details=details)


def instance_history(ctx: EngineContext, principal: Principal, instance_id: str) -> list[Any]:
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        instance = uow.instances.get(instance_id)
        if instance is None or not can_see_instance(principal, instance):
            raise NotFound(f"instance {instance_id} not found")
        return uow.audit.for_instance(instance_id)


# --- human tasks -----------------------------------------------------------


def visible_departments(principal: Principal) -> list[tuple[str | None, str]] | None:
    """The (jurisdiction, department) pairs whose tasks a principal sees; None = all."""
    if principal.role in (Role.ADMIN, Role.INTEGRATOR):
        return None
    if principal.department:
        return [(principal.jurisdiction, principal.department)]
    return []


def task_for_action(
    ctx: EngineContext, uow: SqlUnitOfWork, principal: Principal, task_id: str
) -> tuple[HumanTask, access.Reach]:
    """The task (locked) that ``principal`` may act on, and what the principal reaches."""
    task = uow.tasks.get(task_id, for_update=True)
    reach = access.reach(uow.session, principal, ctx.clock())
    _check_may_act(uow, principal, reach, task, task_id)
    assert task is not None
    return task, reach


def _check_may_act(
    uow: SqlUnitOfWork,
    principal: Principal,
    reach: access.Reach,
    task: HumanTask | None,
    task_id: str,
) -> None:
    # Another department's task answers 404, not 403: its existence is not theirs to know.
    if task is None or not access.can_read(uow.session, reach, task):
        raise NotFound(f"task {task_id} not found")
    if principal.role is Role.INTEGRATOR:
        raise Forbidden("integrators read tasks; officers act on them")
    if not reach.sees(task):
        raise Forbidden("this task was copied to you (抄送): you may read it, not act on it")


def check_open(task: HumanTask, expected_version: int | None) -> None:
    if task.state != "open":
        raise Conflict(f"task is already {task.state}", task_state=task.state)
    if task.delegation == "pending":
        raise Conflict(
            f"task is delegated to {task.assignee}, who resolves it back to {task.owner} first",
            delegation="pending",
        )
    if expected_version is not None and expected_version != task.version:
        raise Conflict(
            f"task version is {task.version}, not {expected_version}: reload and retry",
            current_version=task.version,
        )


def list_open_tasks(ctx: EngineContext, instance_id: str) -> list[HumanTask]:
    """An instance's open tasks, for system use (the API lists through its own query)."""
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        return uow.tasks.for_instance(instance_id, state="open")


def get_task(ctx: EngineContext, principal: Principal, task_id: str) -> HumanTask:
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        task = uow.tasks.get(task_id)
        reach = access.reach(uow.session, principal, ctx.clock())
        if task is None or not access.can_read(uow.session, reach, task):
            raise NotFound(f"task {task_id} not found")
        return task


def claim_task(
    ctx: EngineContext, principal: Principal, task_id: str, expected_version: int | None = None
) -> HumanTask:
    with SqlUnitOfWork(ctx.db) as uow:
        task, _reach = task_for_action(ctx, uow, principal, task_id)
        check_open(task, expected_version)
        if task.assignee not in (None, principal.username):
            raise Conflict(f"task is claimed by {task.assignee}")
        task.assignee = principal.username
        task.version += 1
        uow.audit.record(principal.username, "claim", instance_id=task.instance_id, task_id=task.id)
        events.record_task(uow, "task.assigned", task, at=ctx.clock())
        uow.commit()
        return task


def unclaim_task(
    ctx: EngineContext, principal: Principal, task_id: str, expected_version: int | None = None
) -> HumanTask:
    with SqlUnitOfWork(ctx.db) as uow:
        task, reach = task_for_action(ctx, uow, principal, task_id)
        check_open(task, expected_version)
        if task.assignee is None:
            raise Conflict("task is not claimed")
        if not reach.acts_as(task.assignee):
            raise Forbidden(f"task is claimed by {task.assignee}")
        task.assignee = None
        task.version += 1
        uow.audit.record(
            principal.username, "unclaim", instance_id=task.instance_id, task_id=task.id
        )
        uow.commit()
        return task


def _form_field(error: jsonschema.ValidationError) -> str:
    """The field a form error is about: jsonschema puts missing and extra fields on the parent."""
    path = [str(part) for part in error.path]
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        path += [name for name in error.validator_value if name not in instance][:1]
    elif error.validator == "additionalProperties":
        known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        path += [name for name in instance if name not in known][:1]
    return ".".join(path) or "(form)"


def _validate_form(ctx: EngineContext, task: HumanTask, data: dict[str, Any]) -> dict[str, Any]:
    """The submitted data, checked against the form and completed with its defaults.

    Defaults fill fields the officer left out, so that a model never reads a
    same-named variable left over from an earlier step instead.
    """
    schema = form_schema(task.form, ctx.forms)
    if not schema:
        return data
    errors = sorted(
        jsonschema.Draft202012Validator(schema).iter_errors(data), key=lambda e: list(e.path)
    )
    if errors:
        # ``keyword`` (the JSON Schema rule broken) lets a client word the message itself.
        fields = [
            {"field": _form_field(e), "message": e.message, "keyword": e.validator} for e in errors
        ]
        raise InvalidInput(f"the form data is invalid: {fields[0]['message']}", errors=fields)
    defaults = {
        name: field["default"]
        for name, field in schema.get("properties", {}).items()
        if isinstance(field, dict) and "default" in field
    }
    return {**defaults, **data}


def complete_task(
    ctx: EngineContext,
    principal: Principal,
    task_id: str,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> HumanTask:
    """Complete a task and advance its instance, all or nothing.

    The query that reads the task locks the instance's row, then the task's
    (PostgreSQL), or the database is locked (SQLite), so of two concurrent
    completions exactly one wins and the other reads the task only after the
    first committed, sees ``completed`` and answers 409.  Locking the instance
    first, then the task, is also the order in which a step closes the tasks it
    cancels.
    """
    with SqlUnitOfWork(ctx.db) as uow:
        instance, task = uow.instances.with_task(task_id, for_update=True) or (None, None)
        reach = access.reach_to_complete(uow.session, principal, ctx.clock(), task)
        _check_may_act(uow, principal, reach, task, task_id)
        assert task is not None
        check_open(task, expected_version)
        if task.assignee is not None and not reach.acts_as(task.assignee):
            raise Forbidden(f"task is claimed by {task.assignee}")
        assert instance is not None
        complete_in(
            ctx,
            uow,
            task,
            instance,
            data,
            actor=principal.username,
            on_behalf_of=reach.on_behalf_of(task),
        )
        try:
            uow.commit()
        except (StaleDataError, IntegrityError):
            # Only reachable without row locks (e.g. a database without them): the
            # optimistic version check or the task-row key stops the second writer.
            raise Conflict("the instance changed meanwhile: reload and retry") from None
        return task


def complete_in(
    ctx: EngineContext,
    uow: SqlUnitOfWork,
    task: HumanTask,
    instance: Instance,
    data: dict[str, Any],
    *,
    actor: str,
    on_behalf_of: str | None = None,
) -> None:
    """Complete an open task inside ``uow``; the caller locked it and checked who may.

    Also used by the job worker when a task's timeout action decides it (``engine.approvals``).
    """
    data = _validate_form(ctx, task, data)
    opinions.require_on_rejection(data)
    run = steps.restore(ctx, uow, instance)
    payload = {**data, "completed_by": actor}
    steps.step(ctx, uow, f"completing {task.bpmn_id}", lambda: run.complete(task.id, payload))
    now = ctx.clock()
    task.state = "completed"
    task.result = data
    task.completed_at = now
    task.completed_by = actor
    task.assignee = task.assignee or actor
    task.version += 1
    events.record_task(uow, "task.completed", task, at=now)
    steps.save(ctx, uow, run, instance)
    opinions.record(
        uow,
        instance_id=instance.id,
        task=task,
        officer=actor,
        on_behalf_of=on_behalf_of,
        action="complete",
        decision=opinions.decision_of(data),
        opinion=opinions.text_of(data),
        at=now,
    )
    uow.audit.record(
        actor,
        "complete",
        instance_id=instance.id,
        task_id=task.id,
        details={"bpmn_id": task.bpmn_id, "department": task.department, "data": data},
    )


# --- decisions -------------------------------------------------------------


def evaluate_deployed_decision(
    ctx: EngineContext, key: str, variables: dict[str, Any], version: int | None = None
) -> Any:
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        definition = (
            uow.definitions.version("dmn", key, version)
            if version
            else uow.definitions.latest("dmn", key)
        )
        if definition is None:
            raise NotFound(f"decision {key!r} is not deployed")
        xml = definition.xml
    return evaluate_decision(xml, key, variables, ctx.script_engine)
