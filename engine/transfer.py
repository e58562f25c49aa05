"""Definitions and business records as plain data, to move them between installations.

``huiqian export`` / ``huiqian import`` (``services.archive``) carry what an
installation is built from, not its running work: every deployed version of
every definition, and the business records (the brand library) with their whole
history.  Importing is idempotent and faithful:

* a definition keeps its id, version, checksum, author and time, and its stored
  spec (which pins the callees and decisions it was deployed with: re-parsing
  it here could resolve them differently).  A version that exists with the same
  checksum is left alone; with another checksum the import is refused, because
  two installations gave the same version number to different content;
* a record keeps its id; history events it lacks are appended in their order
  (events are append-only), and its status and data follow the archive when the
  archive's copy changed later.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from engine import steps, timer_starts
from engine.context import EngineContext
from engine.errors import Conflict, InvalidInput
from engine.models import Definition
from engine.records import Record, RecordEvent
from engine.unit_of_work import SqlUnitOfWork
from engine.xml_safety import check_and_parse

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

_DEFINITION_FIELDS = ("id", "kind", "key", "version", "name", "filename", "checksum", "deployed_by")
_RECORD_FIELDS = ("id", "kind", "jurisdiction", "name", "status", "data")
_EVENT_FIELDS = ("actor", "action", "from_status", "to_status", "instance_id", "details")


def _time(value: datetime) -> str:
    """UTC, so that the same moment reads the same from SQLite and PostgreSQL."""
    return value.astimezone(UTC).isoformat()


# --- definitions ---------------------------------------------------------------------------


def definitions(uow: SqlUnitOfWork) -> list[Definition]:
    """Every deployed version, decisions first, in version order."""
    query = select(Definition).order_by(
        Definition.kind.desc(), Definition.key, Definition.version
    )  # "dmn" sorts after "bpmn"; descending puts decisions first
    return list(uow.session.scalars(query))


def definition_to_dict(definition: Definition) -> dict[str, Any]:
    """The metadata; the XML and the spec travel as files of their own."""
    data = {field: getattr(definition, field) for field in _DEFINITION_FIELDS}
    return {**data, "deployed_at": _time(definition.deployed_at)}


def import_definition(
    uow: SqlUnitOfWork, meta: dict[str, Any], xml: bytes, spec: dict[str, Any] | None
) -> str:
    """Store one exported version unless it is here already; CREATED or UNCHANGED."""
    label = f"{meta['kind']} {meta['key']} v{meta['version']}"
    if hashlib.sha256(xml).hexdigest() != meta["checksum"]:
        raise InvalidInput(f"{label}: the XML does not match its checksum; the archive is damaged")
    existing = uow.definitions.version(meta["kind"], meta["key"], meta["version"])
    if existing is not None:
        if existing.checksum != meta["checksum"]:
            raise Conflict(
                f"{label} exists here with other content (checksum {existing.checksum[:12]}…, "
                f"archive {meta['checksum'][:12]}…): the installations diverged"
            )
        return UNCHANGED
    check_and_parse(xml, filename=meta["filename"] or label)
    fields = {field: meta[field] for field in _DEFINITION_FIELDS}
    uow.definitions.add(
        Definition(
            **fields, xml=xml, spec=spec, deployed_at=datetime.fromisoformat(meta["deployed_at"])
        )
    )
    uow.flush()
    return CREATED


def schedule_timer_starts(ctx: EngineContext, uow: SqlUnitOfWork, keys: set[str]) -> None:
    """Timer start events follow the latest version of each imported process."""
    for key in sorted(keys):
        latest = uow.definitions.latest("bpmn", key)
        if latest is not None and latest.spec is not None:
            timer_starts.schedule(ctx, uow, latest, steps.bundle(ctx, uow, latest.id).spec)


# --- records ------------------------------------------------------------------------------


def records(uow: SqlUnitOfWork, kind: str) -> list[Record]:
    return list(uow.session.scalars(select(Record).where(Record.kind == kind).order_by(Record.id)))


def _events(uow: SqlUnitOfWork, record_id: str) -> list[RecordEvent]:
    query = select(RecordEvent).where(RecordEvent.record_id == record_id).order_by(RecordEvent.id)
    return list(uow.session.scalars(query))


def _event_to_dict(event: RecordEvent) -> dict[str, Any]:
    return {"at": _time(event.at), **{field: getattr(event, field) for field in _EVENT_FIELDS}}


def record_to_dict(uow: SqlUnitOfWork, record: Record) -> dict[str, Any]:
    return {
        **{field: getattr(record, field) for field in _RECORD_FIELDS},
        "created_at": _time(record.created_at),
        "updated_at": _time(record.updated_at),
        "events": [_event_to_dict(event) for event in _events(uow, record.id)],
    }


@dataclass(frozen=True)
class _EventKey:
    at: datetime
    action: str
    to_status: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> _EventKey:
        return cls(datetime.fromisoformat(data["at"]), data["action"], data["to_status"])


def import_record(uow: SqlUnitOfWork, data: dict[str, Any]) -> str:
    """Store one exported record with its history; CREATED, UPDATED or UNCHANGED."""
    record = uow.session.get(Record, data["id"])
    outcome = UNCHANGED
    updated_at = datetime.fromisoformat(data["updated_at"])
    if record is None:
        record = Record(
            **{field: data[field] for field in _RECORD_FIELDS},
            created_at=datetime.fromisoformat(data["created_at"]),
            updated_at=updated_at,
        )
        uow.session.add(record)
        uow.flush()
        outcome = CREATED
    elif record.updated_at < updated_at:
        record.name, record.status, record.data = data["name"], data["status"], data["data"]
        record.updated_at = updated_at
        outcome = UPDATED
    have = {_EventKey.of(_event_to_dict(event)) for event in _events(uow, record.id)}
    for event in data["events"]:
        if _EventKey.of(event) in have:
            continue
        fields = {field: event[field] for field in _EVENT_FIELDS}
        at = datetime.fromisoformat(event["at"])
        uow.session.add(RecordEvent(record_id=record.id, at=at, **fields))
        outcome = outcome if outcome == CREATED else UPDATED
    uow.flush()
    return outcome
