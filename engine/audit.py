"""The audit log as a hash chain: appending an entry, and checking that none was changed.

Each entry's ``hash`` is the SHA-256 of a canonical JSON of its content and of
``prev_hash``, the hash of the entry before it (``GENESIS`` for the first).
Changing, deleting or inserting a row in the middle breaks the chain at that
row, and ``verify`` names it.  Deleting the newest rows cannot be seen from the
table alone: compare ``verify``'s count and last hash with a copy kept elsewhere.

Appending must be serialised, or two writers would both link to the same last
entry.  SQLite already serialises writers (``BEGIN IMMEDIATE``); on PostgreSQL
``append`` takes a transaction-level advisory lock, released at commit or
rollback.  The unique ``prev_hash`` is the backstop: a fork fails to commit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from engine.models import AuditEntry, utcnow

GENESIS = "0" * 64
# Any constant shared by every writer; the bytes spell "huiqian" for whoever meets it in pg_locks.
ADVISORY_LOCK_KEY = int.from_bytes(b"huiqian", "big")
_BATCH = 1000


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


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def last_hash(session: Session) -> str:
    found = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return found or GENESIS


def append(session: Session, entry: AuditEntry) -> AuditEntry:
    """Link ``entry`` after the newest entry and add it to the session (flushed)."""
    _lock_chain(session)
    entry.at = entry.at or utcnow()
    entry.details = normalised(entry.details)
    # The query autoflushes entries added earlier in this transaction, so they count as newest.
    entry.prev_hash = last_hash(session)
    entry.hash = hash_of(entry)
    session.add(entry)
    session.flush()
    return entry


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
