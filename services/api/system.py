"""Health, token issue and the caller's own identity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from engine.identity import issue_token, revoke_token
from engine.models import User
from services.auth import current_principal, verify_login
from services.extensions import engine_context
from services.schemas import HealthSchema, MeSchema, TokenRequestSchema, TokenSchema

blp = Blueprint("system", __name__, description="Health and authentication")


@blp.route("/health")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="the database is unreachable")
    def get(self) -> Any:
        try:
            with engine_context().db.read_session() as s:
                s.execute(text("SELECT 1"))
        except Exception:
            current_app.logger.exception("health check: database unreachable")
            return {"status": "degraded", "database": "error"}, 503
        return {"status": "ok", "database": "ok"}


@blp.route("/auth/token")
class Token(MethodView):
    @blp.arguments(TokenRequestSchema)
    @blp.response(200, TokenSchema)
    @blp.alt_response(429, description="too many failed logins: see the Retry-After header")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Exchange a username and password for a bearer token.

        After 10 failed logins within 15 minutes for a username, or from a client
        address, the answer is 429 with ``Retry-After`` until the oldest one expires.
        """
        ttl = timedelta(seconds=current_app.config["HUIQIAN_TOKEN_TTL_SECONDS"])
        with engine_context().db.write_session() as s:
            user = verify_login(s, body["username"], body["password"])
            token, _row = issue_token(s, user, ttl)
            s.commit()
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(ttl.total_seconds()),
        }


@blp.route("/auth/revoke")
class RevokeToken(MethodView):
    @blp.response(204)
    @blp.doc(security=[{"bearer": []}])
    def post(self) -> None:
        """Revoke the bearer token of this request (log out)."""
        current_principal()
        _scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with engine_context().db.write_session() as s:
            revoke_token(s, token.strip())
            s.commit()


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    @blp.doc(security=[{"bearer": []}])
    def get(self) -> Any:
        principal = current_principal()
        with engine_context().db.read_session() as s:
            return s.get(User, principal.user_id)
