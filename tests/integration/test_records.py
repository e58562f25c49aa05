"""Business records and their append-only history, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from engine.clock import FakeClock
from engine.db import Database
from engine.errors import InvalidInput
from engine.records import (
    AppendOnlyViolation,
    ForbiddenTransition,
    Lifecycle,
    Record,
    RecordRepository,
)
from engine.repository import Page
from services.brands import BRAND_LIFECYCLE, EXITED, IN_LIBRARY, NOMINATED

# A deliberately non-brand kind: the engine knows lifecycles only as data.
PERMIT = Lifecycle(
    initial=frozenset({"draft"}),
    transitions={"draft": frozenset({"granted", "refused"}), "granted": frozenset({"revoked"})},
)
LIFECYCLES = {"permit": PERMIT}
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    with database.write_session() as s:
        yield s


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def repo(session: Session, clock: FakeClock) -> RecordRepository:
    return RecordRepository(session, LIFECYCLES, clock=clock)


def permit(name: str = "施工许可", jurisdiction: str = "baoji", **data: object) -> Record:
    return Record(kind="permit", jurisdiction=jurisdiction, name=name, status="draft", data=data)


def test_added_record_starts_its_history_with_a_creation_event(
    repo: RecordRepository, session: Session, database: Database
) -> None:
    record = repo.add(permit(area=12), actor="baoji.hrss", instance_id="i-1", details={"a": 1})
    session.commit()

    with database.read_session() as other:
        stored = RecordRepository(other, LIFECYCLES)
        loaded = stored.get(record.id)
        assert loaded is not None
        assert (loaded.kind, loaded.status, loaded.data, loaded.version) == (
            "permit",
            "draft",
            {"area": 12},
            1,
        )
        assert loaded.created_at == loaded.updated_at == T0
        [event] = stored.history(record.id)
    assert (event.action, event.from_status, event.to_status) == ("created", None, "draft")
    assert (event.actor, event.instance_id, event.details, event.at) == (
        "baoji.hrss",
        "i-1",
        {"a": 1},
        T0,
    )


def test_transitions_move_the_status_and_append_events_in_order(
    repo: RecordRepository, session: Session, clock: FakeClock, database: Database
) -> None:
    record = repo.add(permit(), actor="clerk")
    session.commit()
    clock.advance(days=1)
    repo.transition(record, "granted", actor="chief", action="grant", instance_id="i-2")
    session.commit()
    clock.advance(days=1)
    repo.transition(record, "revoked", actor="chief", action="revoke", details={"why": "fraud"})
    session.commit()

    with database.read_session() as other:
        stored = RecordRepository(other, LIFECYCLES)
        loaded = stored.get(record.id)
        assert loaded is not None
        history = stored.history(record.id)
    assert (loaded.status, loaded.version) == ("revoked", 3)
    assert loaded.updated_at == datetime(2024, 3, 3, 9, 0, tzinfo=UTC)
    assert [(e.action, e.from_status, e.to_status) for e in history] == [
        ("created", None, "draft"),
        ("grant", "draft", "granted"),
        ("revoke", "granted", "revoked"),
    ]
    assert [e.at.day for e in history] == [1, 2, 3]
    assert history[1].instance_id == "i-2"
    assert history[2].details == {"why": "fraud"}


def test_forbidden_transition_is_refused_and_leaves_the_record_alone(
    repo: RecordRepository, session: Session
) -> None:
    record = repo.add(permit(), actor="clerk")
    repo.transition(record, "refused", actor="chief", action="refuse")

    with pytest.raises(ForbiddenTransition, match="'refused' and cannot become 'granted'") as err:
        repo.transition(record, "granted", actor="chief", action="grant")

    assert err.value.status == 409
    assert "allowed next: none" in err.value.detail
    assert record.status == "refused"
    session.flush()
    assert [e.to_status for e in repo.history(record.id)] == ["draft", "refused"]


def test_record_must_start_in_an_initial_status(repo: RecordRepository) -> None:
    record = Record(kind="permit", jurisdiction="baoji", name="x", status="granted", data={})

    with pytest.raises(ForbiddenTransition, match="cannot start as 'granted'"):
        repo.add(record, actor="clerk")


def test_record_kind_without_lifecycle_is_refused(repo: RecordRepository) -> None:
    record = Record(kind="brnad", jurisdiction="baoji", name="x", status="draft", data={})

    with pytest.raises(InvalidInput, match="kind 'brnad' have no lifecycle"):
        repo.add(record, actor="clerk")


def test_history_events_can_be_neither_changed_nor_deleted(
    repo: RecordRepository, session: Session
) -> None:
    record = repo.add(permit(), actor="clerk")
    session.commit()
    [event] = repo.history(record.id)

    event.actor = "someone else"
    with pytest.raises(AppendOnlyViolation, match="is history"):
        session.flush()
    session.rollback()

    session.delete(repo.history(record.id)[0])
    with pytest.raises(AppendOnlyViolation):
        session.flush()
    session.rollback()
    assert [e.actor for e in repo.history(record.id)] == ["clerk"]


def test_list_filters_by_kind_jurisdiction_and_status_and_paginates(
    repo: RecordRepository, session: Session
) -> None:
    for name, jurisdiction in [
        ("丙", "baoji"),
        ("甲", "baoji"),
        ("乙", "baoji"),
        ("丁", "qinghai"),
    ]:
        repo.add(permit(name, jurisdiction), actor="clerk")
    granted = repo.add(permit("戊", "baoji"), actor="clerk")
    repo.transition(granted, "granted", actor="chief", action="grant")
    other_kind = RecordRepository(session, {"note": Lifecycle(frozenset({"draft"}), {})})
    other_kind.add(
        Record(kind="note", jurisdiction="baoji", name="备忘", status="draft", data={}), actor="x"
    )
    session.flush()

    drafts, total = repo.list("permit", Page(1, 2), jurisdiction="baoji", status="draft")
    rest, _ = repo.list("permit", Page(2, 2), jurisdiction="baoji", status="draft")
    everything, all_total = repo.list("permit", Page(1, 50))

    assert total == 3
    assert len(drafts) == 2 and len(rest) == 1
    assert {r.name for r in drafts + rest} == {"甲", "乙", "丙"}
    assert all_total == 5
    assert {r.kind for r in everything} == {"permit"}


def test_brand_lifecycle_admits_then_exits_and_exit_is_final() -> None:
    assert BRAND_LIFECYCLE.initial == {NOMINATED}
    assert BRAND_LIFECYCLE.allows(NOMINATED, IN_LIBRARY)
    assert not BRAND_LIFECYCLE.allows(NOMINATED, EXITED)
    assert BRAND_LIFECYCLE.allows(IN_LIBRARY, "rectifying")
    assert BRAND_LIFECYCLE.allows("rectifying", IN_LIBRARY)
    assert BRAND_LIFECYCLE.allows("exit_proposed", EXITED)
    assert not any(BRAND_LIFECYCLE.allows(EXITED, status) for status in BRAND_LIFECYCLE.statuses)
