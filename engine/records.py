"""Business records that processes create and move through a lifecycle.

A record is a thing a process is *about* and that outlives it: a brand in the
resource library, a demonstration enterprise, an expert in the pool.  The engine
knows records only generically: a ``kind``, a jurisdiction, a name, a status and
free ``data``.  What statuses a kind has and which moves between them are allowed
is data (a ``Lifecycle``) supplied by the service layer, so the engine stays
domain-neutral.

Every change is a ``RecordEvent``: the history is append-only (the ORM refuses to
update or delete an event), so "who moved this brand out of the library, in which
process, and why" can always be answered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, event, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.clock import now as clock_now
from engine.errors import Conflict, InvalidInput
from engine.models import Base, UtcDateTime, new_id, utcnow
from engine.repository import Page, paginate

__all__ = [
    "AppendOnlyViolation",
    "ForbiddenTransition",
    "Lifecycle",
    "Record",
    "RecordEvent",
    "RecordRepository",
]


class Record(Base):
    __tablename__ = "records"
    __table_args__ = (
        Index("ix_records_kind_jurisdiction_status", "kind", "jurisdiction", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(String(40))
    jurisdiction: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class RecordEvent(Base):
    """One entry of a record's history; ``from_status`` is None for the creation."""

    __tablename__ = "record_events"
    __table_args__ = (Index("ix_record_events_record", "record_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[str] = mapped_column(ForeignKey("records.id"))
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(120))
    action: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(40))
    to_status: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[str | None] = mapped_column(String(36))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AppendOnlyViolation(RuntimeError):
    """Code tried to rewrite history; a programming error, never a user's."""


@event.listens_for(RecordEvent, "before_update")
@event.listens_for(RecordEvent, "before_delete")
def _refuse_rewrite(_mapper: Any, _connection: Any, target: RecordEvent) -> None:
    raise AppendOnlyViolation(f"record event {target.id} is history and cannot be changed")


class ForbiddenTransition(Conflict):
    """The record's current status does not allow the requested move."""

    type_slug = "forbidden-transition"
    title = "Forbidden status transition"


@dataclass(frozen=True)
class Lifecycle:
    """The statuses of one record kind: where a record may start and where it may go next.

    ``transitions`` maps each status to the statuses reachable from it; a status
    with no entry (or an empty one) is final.
    """

    initial: frozenset[str]
    transitions: Mapping[str, frozenset[str]]

    @property
    def statuses(self) -> frozenset[str]:
        reachable = {status for targets in self.transitions.values() for status in targets}
        return frozenset(self.initial | set(self.transitions) | reachable)

    def allows(self, from_status: str, to_status: str) -> bool:
        return to_status in self.transitions.get(from_status, frozenset())


class RecordRepository:
    """Records and their history; every status change goes through ``transition``.

    ``lifecycles`` maps a record kind to its ``Lifecycle``: a kind without one cannot
    be stored, so a typo in a kind is refused instead of creating an orphan status set.
    ``clock`` stamps the events (injectable so that tests control time).
    """

    def __init__(
        self,
        session: Session,
        lifecycles: Mapping[str, Lifecycle],
        clock: Callable[[], datetime] = clock_now,
    ) -> None:
        self.session = session
        self.lifecycles = lifecycles
        self.clock = clock

    def _lifecycle(self, kind: str) -> Lifecycle:
        lifecycle = self.lifecycles.get(kind)
        if lifecycle is None:
            raise InvalidInput(f"records of kind {kind!r} have no lifecycle", kind=kind)
        return lifecycle

    def add(
        self,
        record: Record,
        *,
        actor: str,
        action: str = "created",
        instance_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Record:
        """Store a new record and its first history event."""
        lifecycle = self._lifecycle(record.kind)
        if record.status not in lifecycle.initial:
            allowed = ", ".join(sorted(lifecycle.initial))
            raise ForbiddenTransition(
                f"a {record.kind} record cannot start as {record.status!r} (allowed: {allowed})",
                to_status=record.status,
            )
        record.id = record.id or new_id()
        record.created_at = record.created_at or self.clock()
        record.updated_at = record.created_at
        self.session.add(record)
        self._append(record, None, actor, action, instance_id, details, record.created_at)
        return record

    def get(
        self, record_id: str, *, kind: str | None = None, for_update: bool = False
    ) -> Record | None:
        query = select(Record).where(Record.id == record_id)
        if kind is not None:
            query = query.where(Record.kind == kind)
        if for_update:
            query = query.with_for_update()
        return self.session.scalar(query)

    def history(self, record_id: str) -> list[RecordEvent]:
        return list(
            self.session.scalars(
                select(RecordEvent)
                .where(RecordEvent.record_id == record_id)
                .order_by(RecordEvent.id)
            )
        )

    def list(
        self,
        kind: str,
        page: Page,
        *,
        jurisdiction: str | None = None,
        status: str | None = None,
    ) -> tuple[list[Record], int]:
        query = select(Record).where(Record.kind == kind)
        if jurisdiction is not None:
            query = query.where(Record.jurisdiction == jurisdiction)
        if status is not None:
            query = query.where(Record.status == status)
        return paginate(self.session, query.order_by(Record.name, Record.id), page)

    def transition(
        self,
        record: Record,
        to_status: str,
        *,
        actor: str,
        action: str,
        instance_id: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> RecordEvent:
        """Move ``record`` to ``to_status`` if its lifecycle allows it, and log the move."""
        lifecycle = self._lifecycle(record.kind)
        from_status = record.status
        if not lifecycle.allows(from_status, to_status):
            allowed = ", ".join(sorted(lifecycle.transitions.get(from_status, ()))) or "none"
            raise ForbiddenTransition(
                f"{record.kind} {record.name!r} is {from_status!r} and cannot become "
                f"{to_status!r} (allowed next: {allowed})",
                record_id=record.id,
                from_status=from_status,
                to_status=to_status,
            )
        now = self.clock()
        record.status = to_status
        record.updated_at = now
        return self._append(record, from_status, actor, action, instance_id, details, now)

    def _append(
        self,
        record: Record,
        from_status: str | None,
        actor: str,
        action: str,
        instance_id: str | None,
        details: dict[str, Any] | None,
        at: datetime,
    ) -> RecordEvent:
        entry = RecordEvent(
            record_id=record.id,
            at=at,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=record.status,
            instance_id=instance_id,
            details=details or {},
        )
        self.session.add(entry)
        return entry
