"""Liveness and readiness probes for orchestrators (compose healthchecks, Kubernetes).

``/health/live`` answers 200 whenever the process can serve a request at all,
and touches nothing else: a database outage must not get healthy API processes
restarted.  ``/health/ready`` answers 200 only when the database answers and
its schema is at the head of every migration branch (engine and webhooks), so
a process started before ``huiqian db upgrade`` finished gets no traffic yet.
Both are public, like ``/health``.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import text

from engine.errors import HuiqianError
from services import migrations
from services.extensions import engine_context
from services.schemas import LivenessSchema, ReadinessSchema

blp = Blueprint("health", __name__, description="Liveness and readiness probes")


class NotReady(HuiqianError):
    type_slug = "not-ready"
    status = 503
    title = "Not ready"


@cache
def _expected_revisions() -> tuple[str, ...]:
    """The heads of all branches: fixed for the code this process runs."""
    return migrations.head_revisions()


def _current_revisions() -> tuple[str, ...]:
    # A read session: on SQLite the write engine would take the database lock for a probe.
    with engine_context().db.read_session() as s:
        s.execute(text("SELECT 1"))
        try:
            rows = s.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return tuple(sorted(rows))
        except Exception:  # noqa: BLE001 - no version table: the schema was never migrated
            return ()


@blp.route("/health/live")
class Live(MethodView):
    @blp.response(200, LivenessSchema)
    def get(self) -> dict[str, str]:
        """The process is up and serving."""
        return {"status": "ok"}


@blp.route("/health/ready")
class Ready(MethodView):
    @blp.response(200, ReadinessSchema)
    @blp.alt_response(503, description="problem+json `not-ready`: database down or schema behind")
    def get(self) -> dict[str, Any]:
        """The database answers and its schema is at the head of every migration branch."""
        expected = _expected_revisions()
        try:
            current = _current_revisions()
        except Exception as exc:  # noqa: BLE001 - any failure to answer means not ready
            current_app.logger.warning("readiness: database unreachable: %s", exc)
            raise NotReady(
                "the database does not answer", database="error", expected=list(expected)
            ) from None
        if current != expected:
            raise NotReady(
                f"the database schema is at {' '.join(current) or 'nothing'}, this code needs "
                f"{' '.join(expected)}: run `huiqian db upgrade`",
                database="ok",
                schema=list(current),
                expected=list(expected),
            )
        return {"status": "ready", "database": "ok", "schema": list(current)}
