"""Database engines and sessions for SQLite (default) and PostgreSQL.

SQLite has no row locks, so writers take the database lock up front with
``BEGIN IMMEDIATE``; two concurrent completions of one task then queue
instead of both reading the same state.  Readers use a separate engine with
ordinary deferred transactions so that lists and reads never wait for a
writer (the file runs in WAL mode).  PostgreSQL uses one engine; writers lock
the instance row with ``SELECT … FOR UPDATE``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_engine(url: str, *, immediate: bool) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not pysqlite, decide when transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """Owns the engines of one database URL and hands out sessions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, immediate=True)
            self._read_engine = _sqlite_engine(url, immediate=False)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
            self._read_engine = self.engine
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(self._read_engine, expire_on_commit=False)
        # One statement needs no transaction around it: on PostgreSQL that saves the BEGIN and
        # ROLLBACK round trips.  SQLite's reads are in-process; they keep their transaction.
        self._lookup = (
            self._read
            if self.is_sqlite
            else sessionmaker(
                self.engine.execution_options(isolation_level="AUTOCOMMIT"),
                expire_on_commit=False,
            )
        )

    def write_session(self) -> Session:
        return self._write()

    def read_session(self) -> Session:
        return self._read()

    def lookup_session(self) -> Session:
        """A session for reads that are one statement each (who holds this token?).

        On PostgreSQL it runs without a transaction, so two such statements may see
        different snapshots; anything that must read consistently uses ``read_session``.
        """
        return self._lookup()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._read_engine is not self.engine:
            self._read_engine.dispose()
