"""A bearer token resolves to its user in one query, and only while token and user are valid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from engine.db import Database
from engine.errors import Unauthorized
from engine.identity import Role, create_user, issue_token, resolve_token, revoke_token


def _token(database: Database, username: str, ttl: timedelta = timedelta(hours=1)) -> str:
    with database.write_session() as s:
        user = create_user(
            s, username=username, password="a-long-enough-password", role=Role.DESIGNER
        )
        token, _row = issue_token(s, user, ttl)
        s.commit()
    return token


def test_a_valid_token_resolves_to_its_user(database: Database) -> None:
    token = _token(database, "designer")
    with database.read_session() as s:
        assert resolve_token(s, token).username == "designer"


def test_unknown_revoked_and_expired_tokens_are_refused(database: Database) -> None:
    token = _token(database, "designer")
    expired = _token(database, "second", ttl=timedelta(seconds=-1))
    with database.write_session() as s:
        revoke_token(s, token)
        s.commit()
    with database.read_session() as s:
        for refused in (token, expired, "not-a-token"):
            with pytest.raises(Unauthorized, match="invalid or expired token"):
                resolve_token(s, refused)


def test_a_deactivated_users_token_is_refused(database: Database) -> None:
    token = _token(database, "designer")
    with database.write_session() as s:
        user = resolve_token(s, token)
        user.active = False
        s.commit()
    with database.read_session() as s, pytest.raises(Unauthorized):
        resolve_token(s, token)


def test_a_token_lookup_on_postgresql_opens_no_transaction(postgres_schema_url: str) -> None:
    """One statement, no BEGIN/ROLLBACK around it: the backend is idle, not idle in transaction."""
    database = Database(postgres_schema_url)
    try:
        token = _token(database, "designer")
        with database.lookup_session() as s:
            assert resolve_token(s, token).username == "designer"
            backend = s.scalar(text("SELECT pg_backend_pid()"))
            with database.engine.connect() as observer:
                state = observer.scalar(
                    text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": backend}
                )
        assert state == "idle"
    finally:
        database.dispose()
