"""Admin changes to a running instance: migrating it to another version, moving its tokens.

Both are repairs an operator makes deliberately, so only admins may, each is
one transaction with an audit entry and an event (``instance.migrated``,
``instance.modified``), and the task rows, timer jobs and message waits are
brought in line with the changed workflow by the same ``steps.save`` every
step uses.  The SpiffWorkflow surgery itself is in ``engine.migration`` and
``engine.modification``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import select

from engine import events, migration, modification, steps
from engine.context import EngineContext
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.identity import Principal
from engine.models import Instance
from engine.unit_of_work import SqlUnitOfWork

ACTIVE_STATUSES = ("running", "error")


def _instance_for_change(uow: SqlUnitOfWork, principal: Principal, instance_id: str) -> Instance:
    if not principal.is_admin:
        raise Forbidden("only admins migrate or modify instances")
    instance = uow.instances.get(instance_id, for_update=True)
    if instance is None:
        raise NotFound(f"instance {instance_id} not found")
    if instance.status not in ACTIVE_STATUSES:
        raise Conflict(f"instance is {instance.status}, not running")
    return instance


def migrate_instance(
    ctx: EngineContext,
    principal: Principal,
    instance_id: str,
    to_version: int,
    mapping: Mapping[str, str],
) -> Instance:
    """Move a running instance to version ``to_version`` of its process (see engine.migration)."""
    with SqlUnitOfWork(ctx.db) as uow:
        instance = _instance_for_change(uow, principal, instance_id)
        current = uow.definitions.get(instance.definition_id)
        target = uow.definitions.version("bpmn", instance.process_key, to_version)
        assert current is not None
        if target is None:
            raise InvalidInput(f"process {instance.process_key!r} has no version {to_version}")
        if target.id == current.id:
            raise Conflict(f"the instance already runs version {to_version}")
        run = steps.restore(ctx, uow, instance)
        new = steps.bundle(ctx, uow, target.id)
        migration.check_mapping(steps.bundle(ctx, uow, current.id), new, mapping)
        renamed = steps.step(
            ctx, uow, "migrating", lambda: migration.migrate(run, new, mapping, to_version)
        )
        instance.definition_id = target.id
        for row in uow.tasks.for_instance(instance.id, state="open"):
            task = run.task(row.id)
            if task is not None and task.task_spec.bpmn_id != row.bpmn_id:
                row.bpmn_id = task.task_spec.bpmn_id
                row.name = task.task_spec.bpmn_name or row.bpmn_id
                row.version += 1
        steps.save(ctx, uow, run, instance)
        details = {
            "process_key": instance.process_key,
            "from_version": current.version,
            "to_version": to_version,
            "mapping": dict(mapping),
            "renamed": renamed,
        }
        events.record(
            uow,
            "instance.migrated",
            {**events.instance_data(instance), **details},
            at=ctx.clock(),
            instance=instance,
        )
        uow.audit.record(principal.username, "migrate", instance_id=instance.id, details=details)
        uow.commit()
    return instance


def instances_to_migrate(ctx: EngineContext, process_key: str, to_version: int) -> list[str]:
    """Ids of the running instances of ``process_key`` that run another version."""
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        target = uow.definitions.version("bpmn", process_key, to_version)
        if target is None:
            raise InvalidInput(f"process {process_key!r} has no version {to_version}")
        query = (
            select(Instance.id)
            .where(
                Instance.process_key == process_key,
                Instance.status.in_(ACTIVE_STATUSES),
                Instance.definition_id != target.id,
            )
            .order_by(Instance.created_at, Instance.id)
        )
        return list(uow.session.scalars(query))


def modify_instance(
    ctx: EngineContext,
    principal: Principal,
    instance_id: str,
    cancel: Sequence[str],
    start_before: str | None,
    reason: str = "",
) -> Instance:
    """Cancel the active elements ``cancel`` and start a new path before ``start_before``."""
    with SqlUnitOfWork(ctx.db) as uow:
        instance = _instance_for_change(uow, principal, instance_id)
        run = steps.restore(ctx, uow, instance)
        change = steps.step(
            ctx, uow, "modifying", lambda: modification.modify(run, cancel, start_before)
        )
        steps.save(ctx, uow, run, instance)
        details = {
            "cancelled": change.cancelled,
            "started_before": change.started,
            "reason": reason,
        }
        events.record(
            uow,
            "instance.modified",
            {**events.instance_data(instance), **details},
            at=ctx.clock(),
            instance=instance,
        )
        uow.audit.record(principal.username, "modify", instance_id=instance.id, details=details)
        uow.commit()
    return instance
