"""Login throttling: too many failed logins per username or per client address → wait.

Failures are rows in ``login_attempts``, so every process of the service counts
the same failures.  A username is throttled to stop guessing one password; an
address is throttled to stop spraying one password over many usernames.  A
successful login forgets that username's failures, not the address's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from math import ceil
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine.errors import HuiqianError
from engine.models import LoginAttempt

MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)


class TooManyAttempts(HuiqianError):
    """``retry_after`` is in whole seconds, for the ``Retry-After`` header."""

    type_slug = "too-many-requests"
    status = 429
    title = "Too many failed logins"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, retry_after=retry_after)
        self.retry_after = retry_after


def _oldest_counted(session: Session, column: Any, value: str, now: datetime) -> datetime | None:
    """The failure whose expiry frees a slot, if ``value`` has reached the limit; else None."""
    since = now - WINDOW
    window = (
        select(LoginAttempt.at)
        .where(column == value, LoginAttempt.at > since)
        .order_by(LoginAttempt.at.desc())
        .limit(MAX_FAILURES)
        .subquery()
    )
    count, oldest = session.execute(select(func.count(), func.min(window.c.at))).one()
    return oldest if count >= MAX_FAILURES else None


def check(session: Session, username: str, address: str, now: datetime) -> None:
    """Raise ``TooManyAttempts`` before the password is even looked at."""
    for column, value, what in (
        (LoginAttempt.username, username, "this username"),
        (LoginAttempt.address, address, "this address"),
    ):
        oldest = _oldest_counted(session, column, value, now)
        if oldest is not None:
            wait = max(1, ceil((oldest + WINDOW - now).total_seconds()))
            raise TooManyAttempts(
                f"{MAX_FAILURES} failed logins for {what} within {WINDOW}: retry in {wait} s",
                retry_after=wait,
            )


def record_failure(session: Session, username: str, address: str, now: datetime) -> None:
    session.add(LoginAttempt(username=username[:120], address=address[:64], at=now))
    session.flush()


def forget(session: Session, username: str, now: datetime) -> None:
    """After a successful login: drop the user's failures and everyone's expired ones."""
    session.execute(
        delete(LoginAttempt).where(
            (LoginAttempt.username == username) | (LoginAttempt.at <= now - WINDOW)
        )
    )
