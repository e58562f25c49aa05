"""Users, roles, password hashing and bearer tokens.

Passwords are hashed with Argon2id.  API tokens are random and opaque; the
database keeps only their SHA-256, so tokens can be revoked one by one and a
copy of the table grants nothing.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, Unauthorized
from engine.models import ApiToken, User, utcnow


def _password_hasher() -> PasswordHasher:
    """Argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile).

    ``HUIQIAN_ARGON2_TIME_COST`` / ``HUIQIAN_ARGON2_MEMORY_KIB`` tune the cost,
    e.g. down for a test suite that logs in thousands of times.  Hashes carry
    their parameters, so changing them never invalidates stored passwords.
    """
    defaults = PasswordHasher()
    return PasswordHasher(
        time_cost=int(os.environ.get("HUIQIAN_ARGON2_TIME_COST", defaults.time_cost)),
        memory_cost=int(os.environ.get("HUIQIAN_ARGON2_MEMORY_KIB", defaults.memory_cost)),
    )


_hasher = _password_hasher()
# Verifying against this keeps the time of a login for an unknown user equal
# to that of a wrong password, so usernames cannot be probed by timing.
_DUMMY_HASH = _hasher.hash("huiqian-no-such-user")

MIN_PASSWORD_LENGTH = 10
# Passwords of 10+ characters that lead every leaked-password list, plus the
# product's own name: refusing them costs users nothing and stops the first guesses.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "0123456789",
        "12345678910",
        "1q2w3e4r5t",
        "qwertyuiop",
        "1qaz2wsx3edc",
        "password12",
        "password123",
        "password1234",
        "passw0rd123",
        "iloveyou123",
        "abcdefghij",
        "abc1234567",
        "a123456789",
        "qwerty1234",
        "qwerty12345",
        "1111111111",
        "0000000000",
        "8888888888",
        "5201314520",
        "woaini1314",
        "administrator",
        "admin12345",
        "admin123456",
        "changeme123",
        "welcome123",
        "huiqian123",
        "huiqian1234",
    }
)


class Role(StrEnum):
    OFFICER = "officer"
    DESIGNER = "designer"
    ADMIN = "admin"
    INTEGRATOR = "integrator"


@dataclass(frozen=True)
class Principal:
    """Who is acting: the subset of a user that authorisation decisions need."""

    user_id: int
    username: str
    role: Role
    jurisdiction: str | None
    department: str | None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @classmethod
    def of(cls, user: User) -> Principal:
        return cls(user.id, user.username, Role(user.role), user.jurisdiction, user.department)


SYSTEM = Principal(0, "system", Role.ADMIN, None, None)


def check_password_policy(password: str, username: str) -> None:
    """Length, not the username, not a common password; InvalidInput names the rule broken."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password.casefold() == username.casefold():
        raise InvalidInput("password must not be the username")
    if password.casefold() in COMMON_PASSWORDS:
        raise InvalidInput("password is too common: choose another")


def hash_password(password: str, username: str = "") -> str:
    """Hash a password that passes the policy; one hash made for many users has no username."""
    check_password_policy(password, username)
    return _hasher.hash(password)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    username: str,
    password: str | None = None,
    password_hash: str | None = None,
    role: Role,
    jurisdiction: str | None = None,
    department: str | None = None,
    display_name: str = "",
) -> User:
    """Create a user from a password, or from a hash made once for many (demo seeding)."""
    if (password is None) == (password_hash is None):
        raise ValueError("give exactly one of password and password_hash")
    if role is Role.OFFICER and not (jurisdiction and department):
        raise InvalidInput("an officer needs a jurisdiction and a department")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=password_hash or hash_password(str(password), username),
        role=role.value,
        jurisdiction=jurisdiction,
        department=department,
        display_name=display_name or username,
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    """Return the active user with these credentials or raise Unauthorized."""
    user = session.scalar(select(User).where(User.username == username))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("invalid username or password") from None
    if user is None or not user.active:
        raise Unauthorized("invalid username or password")
    return user


def issue_token(session: Session, user: User, ttl: timedelta) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    row = ApiToken(token_hash=_token_digest(token), user_id=user.id, expires_at=utcnow() + ttl)
    session.add(row)
    session.flush()
    return token, row


def resolve_token(session: Session, token: str) -> User:
    """The active user a bearer token belongs to, or Unauthorized."""
    found = session.execute(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == _token_digest(token))
    ).one_or_none()
    if found is None:
        raise Unauthorized("invalid or expired token")
    row, user = found
    if row.revoked_at is not None or row.expires_at <= utcnow() or not user.active:
        raise Unauthorized("invalid or expired token")
    return user


def revoke_token(session: Session, token: str) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.token_hash == _token_digest(token), ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
