"""Repositories: the only place that knows how engine rows are queried."""

from __future__ import annotations

import builtins
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, false, func, or_, select, update
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.util import identity_key

from engine import audit
from engine.models import AuditEntry, Definition, HumanTask, Instance, StatePatch

# Ids per ``IN (...)`` list: well under every database's limit on bound parameters.
IN_CHUNK = 500


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]


@dataclass(frozen=True)
class Page:
    """Offset pagination: ``page`` counts from 1."""

    page: int = 1
    page_size: int = 50

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def paginate(session: Session, query: Select[Any], page: Page) -> tuple[builtins.list[Any], int]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = list(session.scalars(query.offset(page.offset).limit(page.page_size)))
    return items, int(total or 0)


class DefinitionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, definition_id: str) -> Definition | None:
        return self.session.get(Definition, definition_id)

    def latest(self, kind: str, key: str) -> Definition | None:
        return self.session.scalar(
            select(Definition)
            .where(Definition.kind == kind, Definition.key == key)
            .order_by(Definition.version.desc())
            .limit(1)
        )

    def version(self, kind: str, key: str, version: int) -> Definition | None:
        return self.session.scalar(
            select(Definition).where(
                Definition.kind == kind, Definition.key == key, Definition.version == version
            )
        )

    def add(self, definition: Definition) -> None:
        self.session.add(definition)

    def newest_versions(self) -> builtins.list[Definition]:
        """The latest version of every process and decision, without their XML and spec."""
        newest = (
            select(Definition.kind, Definition.key, func.max(Definition.version).label("version"))
            .group_by(Definition.kind, Definition.key)
            .subquery()
        )
        query = (
            select(Definition)
            .join(
                newest,
                (Definition.kind == newest.c.kind)
                & (Definition.key == newest.c.key)
                & (Definition.version == newest.c.version),
            )
            .options(defer(Definition.xml), defer(Definition.spec))
            .order_by(Definition.kind, Definition.key)
        )
        return list(self.session.scalars(query))

    def list(self, page: Page, key: str | None = None, kind: str | None = None):
        query = select(Definition).order_by(Definition.key, Definition.version.desc())
        if key:
            query = query.where(Definition.key == key)
        if kind:
            query = query.where(Definition.kind == kind)
        return paginate(self.session, query, page)


class InstanceRepository:
    def __init__(self, session: Session, *, row_locks: bool) -> None:
        self.session = session
        self.row_locks = row_locks

    def get(self, instance_id: str, *, for_update: bool = False) -> Instance | None:
        """The instance; read without ``for_update``, its variables are loaded with it."""
        query = select(Instance).where(Instance.id == instance_id)
        if for_update and self.row_locks:
            query = query.with_for_update()
        instance = self.session.scalar(query)
        if instance is not None and not for_update:
            self.load_variables([instance])
        return instance

    def load_variables(self, instances: Iterable[Instance]) -> None:
        """Apply pending state patches to the variables of ``instances``, in one query."""
        pending = {instance.id: instance for instance in instances if instance.patch_bytes}
        if not pending:
            return
        patches: dict[str, builtins.list[StatePatch]] = defaultdict(builtins.list)
        query = (
            select(StatePatch)
            .where(StatePatch.instance_id.in_(pending))
            .order_by(StatePatch.instance_id, StatePatch.id)
        )
        for patch in self.session.scalars(query):
            patches[patch.instance_id].append(patch)
        for instance_id, instance in pending.items():
            instance.remember_variables(instance.variables_after(patches[instance_id]))

    def with_task(
        self, task_id: str, *, for_update: bool = False
    ) -> tuple[Instance, HumanTask] | None:
        """A human task and its instance, in one query; None when there is no such task.

        Locking takes the instance's row, then the task's: PostgreSQL locks the
        tables of ``FOR UPDATE OF`` in the order they are named, the order every
        writer keeps (instance first, then its tasks).  The instance's variables
        are not read: a step whose workflow is live never needs them, and at N
        departments they hold the roster (loaded on first use otherwise).
        """
        query = (
            select(Instance, HumanTask)
            .join(HumanTask, HumanTask.instance_id == Instance.id)
            .where(HumanTask.id == task_id)
            .options(defer(Instance.variables_snapshot))
        )
        if for_update and self.row_locks:
            query = query.with_for_update(of=[Instance, HumanTask])
        row = self.session.execute(query).one_or_none()
        return None if row is None else (row[0], row[1])

    def add(self, instance: Instance) -> None:
        self.session.add(instance)

    def list(self, page: Page, **filters: Any) -> tuple[builtins.list[Instance], int]:
        query = select(Instance).order_by(Instance.created_at.desc(), Instance.id)
        for column in ("status", "process_key", "business_key", "jurisdiction"):
            if filters.get(column):
                query = query.where(getattr(Instance, column) == filters[column])
        instances, total = paginate(self.session, query, page)
        self.load_variables(instances)
        return instances, total

    def run_times(
        self, process_key: str, jurisdiction: str | None = None
    ) -> builtins.list[tuple[datetime, datetime]]:
        """(created_at, ended_at) of every completed instance of a process, for lead times."""
        query = select(Instance.created_at, Instance.ended_at).where(
            Instance.process_key == process_key, Instance.status == "completed"
        )
        if jurisdiction:
            query = query.where(Instance.jurisdiction == jurisdiction)
        rows = self.session.execute(query)
        return [(started, ended) for started, ended in rows if ended is not None]


@dataclass(frozen=True)
class TaskQuery:
    """What a caller may see and what it asked for.

    ``departments`` restricts to (jurisdiction, department) pairs; None means
    no restriction (admins).  ``assignee`` narrows to one officer's claimed tasks.
    ``users`` widens ``departments`` by the tasks assigned to or delegated by these
    users (转办, 委派, 代理); ``among`` restricts to the task ids a subquery selects
    (e.g. the tasks copied to someone, 抄送).
    """

    departments: Sequence[tuple[str | None, str]] | None = None
    assignee: str | None = None
    state: str | None = None
    instance_id: str | None = None
    department: str | None = None
    process_key: str | None = None
    completed_by: str | None = None
    claimed: bool | None = None
    due_before: datetime | None = None
    users: Sequence[str] = ()
    among: Select[Any] | None = None


class TaskRepository:
    def __init__(self, session: Session, *, row_locks: bool) -> None:
        self.session = session
        self.row_locks = row_locks

    def get(self, task_id: str, *, for_update: bool = False) -> HumanTask | None:
        query = select(HumanTask).where(HumanTask.id == task_id)
        if for_update and self.row_locks:
            query = query.with_for_update()
        return self.session.scalar(query)

    def add(self, task: HumanTask) -> None:
        self.session.add(task)

    def for_instance(self, instance_id: str, state: str | None = None) -> builtins.list[HumanTask]:
        query = select(HumanTask).where(HumanTask.instance_id == instance_id)
        if state:
            query = query.where(HumanTask.state == state)
        return list(self.session.scalars(query.order_by(HumanTask.created_at, HumanTask.id)))

    def open_ids(self, instance_id: str) -> set[str]:
        """The ids of an instance's open tasks, without loading the rows."""
        query = select(HumanTask.id).where(
            HumanTask.instance_id == instance_id, HumanTask.state == "open"
        )
        return set(self.session.scalars(query))

    def existing_ids(self, task_ids: Sequence[str]) -> set[str]:
        """Which of ``task_ids`` have a row, in any state, without loading the rows."""
        found: set[str] = set()
        for chunk in _chunks(task_ids):
            found.update(self.session.scalars(select(HumanTask.id).where(HumanTask.id.in_(chunk))))
        return found

    def still_open(self, task_ids: Sequence[str]) -> builtins.list[str]:
        """``task_ids`` less those whose row this session holds as closed (no query)."""
        held = self.session.identity_map
        return [
            task_id
            for task_id in task_ids
            if getattr(held.get(identity_key(HumanTask, task_id)), "state", "open") == "open"
        ]

    def cancel(self, task_ids: Sequence[str], now: datetime) -> builtins.list[HumanTask]:
        """Close the open ones of ``task_ids`` as cancelled; the rows it closed, oldest first.

        One ``UPDATE … RETURNING`` per few hundred ids: only these rows are loaded, and
        any of them already in the session is refreshed.
        """
        rows: builtins.list[HumanTask] = []
        for chunk in _chunks(sorted(task_ids)):
            statement = (
                update(HumanTask)
                .where(HumanTask.id.in_(chunk), HumanTask.state == "open")
                .values(state="cancelled", completed_at=now, version=HumanTask.version + 1)
                .returning(HumanTask)
                .execution_options(synchronize_session=False, populate_existing=True)
            )
            rows.extend(self.session.scalars(statement))
        return sorted(rows, key=lambda row: (row.created_at, row.id))

    def list(self, page: Page, q: TaskQuery) -> tuple[builtins.list[HumanTask], int]:
        query = select(HumanTask).order_by(HumanTask.created_at.desc(), HumanTask.id)
        return paginate(self.session, self._filtered(query, q), page)

    def count(self, q: TaskQuery) -> int:
        query = self._filtered(select(func.count()).select_from(HumanTask), q)
        return int(self.session.scalar(query) or 0)

    def count_by_department(self, q: TaskQuery) -> dict[tuple[str | None, str], int]:
        """How many tasks ``q`` finds in each (jurisdiction, department) that has any."""
        columns = select(HumanTask.jurisdiction, HumanTask.department, func.count())
        query = cast("Select[Any]", columns.group_by(HumanTask.jurisdiction, HumanTask.department))
        rows = self.session.execute(self._filtered(query, q))
        return {(jurisdiction, department): count for jurisdiction, department, count in rows}

    def process_keys(self, q: TaskQuery) -> builtins.list[str]:
        """The distinct processes of the tasks ``q`` finds, for a filter's choices."""
        query = self._filtered(select(HumanTask.process_key).distinct(), q)
        return sorted(self.session.scalars(query))

    @staticmethod
    def _filtered(query: Select[Any], q: TaskQuery) -> Select[Any]:
        if q.departments is not None:
            conditions = [
                (HumanTask.department == department)
                & (
                    (HumanTask.jurisdiction == jurisdiction)
                    if jurisdiction
                    else HumanTask.jurisdiction.is_(None)
                )
                for jurisdiction, department in q.departments
            ]
            if q.users:
                conditions.append(HumanTask.assignee.in_(q.users) | HumanTask.owner.in_(q.users))
            query = query.where(or_(false(), *conditions))
        if q.among is not None:
            query = query.where(HumanTask.id.in_(q.among))
        if q.assignee:
            query = query.where(HumanTask.assignee == q.assignee)
        if q.state:
            query = query.where(HumanTask.state == q.state)
        if q.instance_id:
            query = query.where(HumanTask.instance_id == q.instance_id)
        if q.department:
            query = query.where(HumanTask.department == q.department)
        if q.process_key:
            query = query.where(HumanTask.process_key == q.process_key)
        if q.completed_by:
            query = query.where(HumanTask.completed_by == q.completed_by)
        if q.claimed is not None:
            claimed = HumanTask.assignee.is_not(None)
            query = query.where(claimed if q.claimed else ~claimed)
        if q.due_before:
            query = query.where(HumanTask.due_at < q.due_before)
        return query


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        actor: str,
        action: str,
        *,
        instance_id: str | None = None,
        task_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> AuditEntry:
        """Append an entry to the hash chain (``engine.audit``) in this transaction."""
        entry = AuditEntry(
            actor=actor,
            action=action,
            instance_id=instance_id,
            task_id=task_id,
            details=details or {},
        )
        return audit.append(self.session, entry)

    def for_instance(self, instance_id: str) -> builtins.list[AuditEntry]:
        return list(
            self.session.scalars(
                select(AuditEntry)
                .where(AuditEntry.instance_id == instance_id)
                .order_by(AuditEntry.id)
            )
        )
