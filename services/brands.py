"""The brand resource library (劳务品牌资源库, BJ-3.3/3.4, QH-04) on the engine's records.

A brand is a ``Record`` of kind ``brand``.  Its lifecycle is the table below, a
reading of DOMAIN §3(g)9 and §3(d) cut to what the library itself tracks:

* ``nominated``: recommended by a county (推荐, BJ-3.3), not yet admitted;
* ``not_admitted``: the nomination was turned down (review, co-review, decision or an upheld
  objection during publicity); final for this record, a later nomination is a new record;
* ``in_library``: admitted (在库);
* ``rectifying``: in the library but under rectification after a check (动态管理, BJ-3.4);
* ``exit_proposed``: 市人社局 proposed the exit (提出退出建议, BJ-3.4);
* ``exited``: removed; final, the history stays.

The exit proposal is a step a process may take, not one it must: the policy names
no final decider (DOMAIN §7.6), so a process may also move a brand out directly.
Recognition levels (city, province, national) are not statuses here: they are
awards a brand in the library collects, kept in its data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from engine import events
from engine.db import Database
from engine.errors import NotFound
from engine.identity import Principal, Role
from engine.models import Instance
from engine.records import Lifecycle, Record, RecordEvent, RecordRepository
from engine.repository import InstanceRepository, Page

BRAND = "brand"

NOMINATED = "nominated"
NOT_ADMITTED = "not_admitted"
IN_LIBRARY = "in_library"
RECTIFYING = "rectifying"
EXIT_PROPOSED = "exit_proposed"
EXITED = "exited"

BRAND_LIFECYCLE = Lifecycle(
    initial=frozenset({NOMINATED}),
    transitions={
        NOMINATED: frozenset({IN_LIBRARY, NOT_ADMITTED}),
        NOT_ADMITTED: frozenset(),
        IN_LIBRARY: frozenset({RECTIFYING, EXIT_PROPOSED, EXITED}),
        RECTIFYING: frozenset({IN_LIBRARY, EXIT_PROPOSED, EXITED}),
        EXIT_PROPOSED: frozenset({IN_LIBRARY, EXITED}),
        EXITED: frozenset(),
    },
)
BRAND_STATUSES = (NOMINATED, NOT_ADMITTED, IN_LIBRARY, RECTIFYING, EXIT_PROPOSED, EXITED)
# A brand is assessed a few times a year at most; more links than this are not read.
MAX_LINKED_INSTANCES = 100

# Integrations are told when a brand joins the library and when it leaves it.
ANNOUNCED = {
    (NOMINATED, IN_LIBRARY): "brand.added",
    **{(status, EXITED): "brand.exited" for status in (IN_LIBRARY, RECTIFYING, EXIT_PROPOSED)},
}

LIFECYCLES: Mapping[str, Lifecycle] = {BRAND: BRAND_LIFECYCLE}


def library(session: Session) -> RecordRepository:
    """The record repository that knows the service's record kinds."""
    return RecordRepository(session, LIFECYCLES)


@dataclass(frozen=True)
class BrandDetail:
    """A brand with its history; reads like the record for the API schema."""

    record: Record
    history: list[RecordEvent]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.record, name)


def _visible_jurisdiction(principal: Principal) -> str | None:
    """Officers see their own jurisdiction's library only; None means everything."""
    return principal.jurisdiction if principal.role is Role.OFFICER else None


def list_brands(
    db: Database,
    principal: Principal,
    page: Page,
    *,
    jurisdiction: str | None = None,
    status: str | None = None,
) -> tuple[list[Record], int]:
    own = _visible_jurisdiction(principal)
    if own is not None:
        if jurisdiction not in (None, own):
            return [], 0
        jurisdiction = own
    with db.read_session() as session:
        return library(session).list(BRAND, page, jurisdiction=jurisdiction, status=status)


def get_brand(db: Database, principal: Principal, brand_id: str) -> BrandDetail:
    """A brand and its history; another jurisdiction's brand is 404 to an officer."""
    with db.read_session() as session:
        repository = library(session)
        record = repository.get(brand_id, kind=BRAND)
        own = _visible_jurisdiction(principal)
        if record is None or own not in (None, record.jurisdiction):
            raise NotFound(f"brand {brand_id} not found")
        return BrandDetail(record, repository.history(record.id))


def processes(db: Database, principal: Principal, brand: BrandDetail) -> list[Instance]:
    """The instances that worked on a brand, oldest first.

    Those that moved it (the history's ``instance_id``) and those started with the
    brand's id as business key (an assessment, an exit); an officer sees the ones of
    their own jurisdiction.
    """
    own = _visible_jurisdiction(principal)
    ids = dict.fromkeys(event.instance_id for event in brand.history if event.instance_id)
    with db.read_session() as session:
        instances = InstanceRepository(session, row_locks=False)
        found = {i.id: i for i in (instances.get(instance_id) for instance_id in ids) if i}
        by_key, _total = instances.list(Page(1, MAX_LINKED_INSTANCES), business_key=brand.id)
    found.update((instance.id, instance) for instance in by_key)
    visible = [i for i in found.values() if own in (None, i.jurisdiction)]
    return sorted(visible, key=lambda instance: instance.created_at)


# --- writes, made by the hrss handlers inside a workflow step ------------------------------


def nominate(
    repository: RecordRepository,
    *,
    name: str,
    jurisdiction: str,
    data: dict[str, Any],
    actor: str,
    instance_id: str | None,
) -> Record:
    record = Record(kind=BRAND, jurisdiction=jurisdiction, name=name, status=NOMINATED, data=data)
    return repository.add(
        record, actor=actor, action="nominated", instance_id=instance_id, details=dict(data)
    )


def move(
    repository: RecordRepository,
    brand_id: str,
    to_status: str,
    *,
    action: str,
    jurisdiction: str | None,
    actor: str,
    instance_id: str | None,
    details: dict[str, Any],
) -> RecordEvent:
    """Move a brand of ``jurisdiction`` (None: any) along its lifecycle.

    A process of one jurisdiction may not move another's brand: to it, that brand
    does not exist.
    """
    record = repository.get(brand_id, kind=BRAND, for_update=True)
    if record is None or jurisdiction not in (None, record.jurisdiction):
        raise NotFound(f"brand {brand_id!r} is not in the library of {jurisdiction or 'any'}")
    change = repository.transition(
        record, to_status, actor=actor, action=action, instance_id=instance_id, details=details
    )
    announced = ANNOUNCED.get((change.from_status, change.to_status))
    if announced:
        events.record(
            repository.session,
            announced,
            {
                "brand_id": record.id,
                "name": record.name,
                "jurisdiction": record.jurisdiction,
                "status": record.status,
                "instance_id": instance_id,
                "links": {"brand": f"{events.API}/brands/{record.id}"},
            },
            at=change.at,
            jurisdiction=record.jurisdiction,
        )
    return change
