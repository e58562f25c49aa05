"""Unit of work: one database transaction per engine command.

``with uow:`` opens a transaction; ``uow.commit()`` is explicit and leaving
the block without it rolls everything back, so a failure half-way through a
command leaves the database exactly as it was.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session

from engine.db import Database
from engine.repository import (
    AuditRepository,
    DefinitionRepository,
    InstanceRepository,
    TaskRepository,
)


class SqlUnitOfWork:
    session: Session
    definitions: DefinitionRepository
    instances: InstanceRepository
    tasks: TaskRepository
    audit: AuditRepository

    def __init__(self, db: Database, *, read_only: bool = False) -> None:
        self._db = db
        self._read_only = read_only

    def __enter__(self) -> SqlUnitOfWork:
        self.session = self._db.read_session() if self._read_only else self._db.write_session()
        lock = not self._read_only and not self._db.is_sqlite
        self.definitions = DefinitionRepository(self.session)
        self.instances = InstanceRepository(self.session, row_locks=lock)
        self.tasks = TaskRepository(self.session, row_locks=lock)
        self.audit = AuditRepository(self.session)
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

    def flush(self) -> None:
        self.session.flush()
