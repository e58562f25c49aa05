"""The audit log as a hash chain: appending an entry, and checking that none was changed.

Each entry's ``hash`` is the SHA-256 of a canonical JSON of its content and of
``prev_hash``, the hash of the entry before it (``GENESIS`` for the first).
Changing, deleting or inserting a row in the middle breaks the chain at that
row, and ``verify`` names it.  Deleting the newest rows cannot be seen from the
table alone: compare ``verify``'s count and last hash with a copy kept elsewhere.

Appending must be serialised, or two writers would both link to the same last
entry.  SQLite already serialises writers (``BEGIN IMMEDIATE``); on PostgreSQL
linking takes a transaction-level advisory lock, released at commit or
rollback.  The lock's key is derived from the schema the tables live in
(``current_schema()``), so installations in different schemas of one database
do not queue on each other.  The unique ``prev_hash`` is the backstop: a fork
fails to commit.

The lock is held from linking until the commit, so linking is done as late as
possible: in a session that ``defer_until_commit`` was called on (every
writing unit of work), ``append`` only queues the entry, and the queue is
linked just before the transaction commits, after every other change of the
transaction has been flushed.  The chain's order is then the order in which
transactions commit, as before; entries queued in a savepoint that is rolled
back are dropped with it, and nothing is linked if the transaction rolls back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, SessionTransaction

from engine.models import AuditEntry, utcnow

GENESIS = "0" * 64
# The advisory lock's key: a 64-bit hash of this prefix and the current schema's name, so every
# writer of one installation (schema) shares it and other schemas of the database do not.
# ``SELECT hashtextextended('huiqian.audit:' || 'public', 0)`` gives the key of schema public;
# pg_locks shows it split into classid (high 32 bits) and objid (low 32 bits).
LOCK_KEY_PREFIX = "huiqian.audit:"
_LOCK_KEY_SQL = "hashtextextended(:prefix || coalesce(current_schema(), ''), 0)"
_BATCH = 1000
_DEFERRED = "huiqian.audit.deferred"
_PENDING = "huiqian.audit.pending"


def normalised(details: dict[str, Any] | None) -> dict[str, Any]:
    """``details`` as it will read back from the JSON column (string keys, lists for tuples).

    The hash is computed on this form, so verifying a stored row gives the same bytes.
    """
    return json.loads(json.dumps(details or {}, ensure_ascii=False, allow_nan=False))


def entry_hash(
    *,
    at: datetime,
    actor: str,
    action: str,
    instance_id: str | None,
    task_id: str | None,
    details: dict[str, Any],
    prev_hash: str,
) -> str:
    canonical = json.dumps(
        {
            "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "instance_id": instance_id,
            "task_id": task_id,
            "details": details,
            "prev_hash": prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def hash_of(entry: AuditEntry) -> str:
    return entry_hash(
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        instance_id=entry.instance_id,
        task_id=entry.task_id,
        details=entry.details,
        prev_hash=entry.prev_hash,
    )


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def lock_key(session: Session) -> int | None:
    """The advisory lock key of this session's schema (PostgreSQL); None on SQLite."""
    if not _is_postgresql(session):
        return None
    key = session.scalar(text(f"SELECT {_LOCK_KEY_SQL}"), {"prefix": LOCK_KEY_PREFIX})
    return int(key)


def _lock_chain(session: Session) -> None:
    if _is_postgresql(session):
        session.execute(
            text(f"SELECT pg_advisory_xact_lock({_LOCK_KEY_SQL})"), {"prefix": LOCK_KEY_PREFIX}
        )


def last_hash(session: Session) -> str:
    found = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return found or GENESIS


def _link(session: Session, entries: list[AuditEntry]) -> None:
    """Chain ``entries``, in order, after the newest entry and flush them."""
    session.flush()  # the transaction's other changes first: they need not wait for the lock
    _lock_chain(session)
    previous = last_hash(session)
    for entry in entries:
        entry.at = entry.at or utcnow()
        entry.prev_hash = previous
        entry.hash = previous = hash_of(entry)
    session.add_all(entries)
    session.flush()


def append(session: Session, entry: AuditEntry) -> AuditEntry:
    """Link ``entry`` after the newest entry and add it to the session.

    In a session that ``defer_until_commit`` was called on, the entry is linked
    and flushed just before the transaction commits (its ``id``, ``at`` and
    hashes are set then); elsewhere at once.
    """
    entry.details = normalised(entry.details)
    if session.info.get(_DEFERRED):
        session.info.setdefault(_PENDING, []).append((_savepoint(session), entry))
    else:
        _link(session, [entry])
    return entry


def defer_until_commit(session: Session) -> None:
    """Link this session's entries at commit, so the chain's lock is held only for the commit."""
    session.info[_DEFERRED] = True


def pending(session: Session) -> list[AuditEntry]:
    """The entries queued in this session's transaction, not linked yet."""
    return [entry for _, entry in session.info.get(_PENDING, ())]


def _savepoint(session: Session) -> SessionTransaction | None:
    """The innermost savepoint open in ``session``; None outside any."""
    return session.get_nested_transaction()


def _rolled_back_boundary(transaction: SessionTransaction) -> SessionTransaction | None:
    """The savepoint a rollback of ``transaction`` undid; None when it undid the whole."""
    current: SessionTransaction | None = transaction
    while current is not None and not current.nested:
        current = current.parent
    return current


def _within(savepoint: SessionTransaction | None, boundary: SessionTransaction) -> bool:
    current = savepoint
    while current is not None:
        if current is boundary:
            return True
        current = current.parent
    return False


@event.listens_for(Session, "before_commit")
def _link_pending(session: Session) -> None:
    # Also fired when a savepoint is released: link only when the whole transaction commits.
    if session.in_nested_transaction():
        return
    queued = session.info.pop(_PENDING, None)
    if queued:
        _link(session, [entry for _, entry in queued])


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    queued = session.info.get(_PENDING)
    if not queued:
        return
    boundary = _rolled_back_boundary(previous_transaction)
    if boundary is None:
        session.info.pop(_PENDING, None)
    else:
        queued[:] = [item for item in queued if not _within(item[0], boundary)]


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    # Closing a session ends its transaction without a rollback event; nothing queued survives it.
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class Verification:
    """``broken_id`` is the first entry whose content or link is wrong; None if all hold."""

    checked: int
    last_hash: str
    broken_id: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_id is None


def verify(session: Session) -> Verification:
    """Walk the chain oldest first, in batches, and stop at the first broken entry."""
    expected_prev = GENESIS
    checked = 0
    query = select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=_BATCH)
    for entry in session.scalars(query):
        if entry.prev_hash != expected_prev:
            reason = "does not link to the entry before it (a row was removed or inserted)"
            return Verification(checked, expected_prev, entry.id, reason)
        if hash_of(entry) != entry.hash:
            return Verification(checked, expected_prev, entry.id, "content does not match hash")
        expected_prev = entry.hash
        checked += 1
    return Verification(checked, expected_prev)
