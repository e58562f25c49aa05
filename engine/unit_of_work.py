"""Unit of work: one database transaction per engine command.

``with uow:`` opens a transaction; ``uow.commit()`` is explicit and leaving
the block without it rolls everything back, so a failure half-way through a
command leaves the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from engine import audit
from engine.db import Database
from engine.repository import (
    AuditRepository,
    DefinitionRepository,
    InstanceRepository,
    TaskRepository,
)

if TYPE_CHECKING:
    from engine.runtime import WorkflowRun


class SqlUnitOfWork:
    session: Session
    definitions: DefinitionRepository
    instances: InstanceRepository
    tasks: TaskRepository
    audit: AuditRepository
    runs: dict[str, WorkflowRun]
    """The workflows this transaction restored, by instance id (``engine.steps.restore``)."""

    def __init__(self, db: Database, *, read_only: bool = False) -> None:
        self._db = db
        self._read_only = read_only

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._db.read_session() if self._read_only else self._db.write_session()
        if not self._read_only:
            # Audit entries are chained just before the commit, so the chain's lock is held
            # only for that, not for the rest of the command (``engine.audit``).
            audit.defer_until_commit(self.session)
        lock = not self._read_only and not self._db.is_sqlite
        self.definitions = DefinitionRepository(self.session)
        self.instances = InstanceRepository(self.session, row_locks=lock)
        self.tasks = TaskRepository(self.session, row_locks=lock)
        self.audit = AuditRepository(self.session)
        self.runs = {}
        self._after_commit: dict[str, Callable[[], None]] = {}
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back anything uncommitted without expiring loaded objects,
        # so results stay readable after the block.
        self.session.close()

    def commit(self) -> None:
        self.session.commit()
        callbacks, self._after_commit = self._after_commit, {}
        for callback in callbacks.values():
            callback()

    def after_commit(self, key: str, callback: Callable[[], None]) -> None:
        """Run ``callback`` once the transaction committed (never if it rolls back).

        A later registration under the same key replaces the earlier one.
        """
        self._after_commit[key] = callback

    def flush(self) -> None:
        self.session.flush()
