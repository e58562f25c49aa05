"""Who is calling: bearer tokens for the API, the session cookie for the UI."""

from __future__ import annotations

from flask import g, request, session
from sqlalchemy.orm import Session

from engine import login_limits
from engine.errors import Unauthorized
from engine.identity import Principal, authenticate, resolve_token
from engine.models import User
from engine.repository import AuditRepository
from services.extensions import engine_context

SESSION_USER_KEY = "user_id"


def current_principal() -> Principal:
    """The authenticated principal of this request, or Unauthorized (401)."""
    cached = g.get("principal")
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    db = engine_context().db
    with db.lookup_session() as s:
        if scheme.lower() == "bearer" and token.strip():
            user = resolve_token(s, token.strip())
        elif SESSION_USER_KEY in session:
            user = s.get(User, session[SESSION_USER_KEY])
            if user is None or not user.active:
                raise Unauthorized("the session has ended; log in again")
        else:
            raise Unauthorized("send 'Authorization: Bearer <token>' (POST /api/v1/auth/token)")
        g.principal = Principal.of(user)
    return g.principal


def require_login() -> None:
    """``before_request`` hook: authenticate before the body is even parsed (401 before 422)."""
    current_principal()


def verify_login(s: Session, username: str, password: str) -> User:
    """The user with these credentials; TooManyAttempts (429) or Unauthorized (401) otherwise.

    Shared by the token endpoint and the UI's login form, so that both count
    towards the same throttle.  A failure is counted and audited in a commit of
    its own (it must outlive the error); a success forgets the username's
    failures in the caller's transaction.
    """
    address = request.remote_addr or "unknown"
    now = engine_context().clock()
    login_limits.check(s, username, address, now)
    try:
        user = authenticate(s, username, password)
    except Unauthorized:
        s.rollback()
        login_limits.record_failure(s, username, address, now)
        AuditRepository(s).record(username, "login_failed", details={"address": address})
        s.commit()
        raise
    login_limits.forget(s, username, now)
    return user
