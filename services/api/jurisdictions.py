"""Jurisdiction packs (rosters and responsibility matrices) as loaded at start-up."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine.errors import NotFound
from services.auth import require_login
from services.extensions import engine_context

blp = Blueprint("jurisdictions", __name__, description="Jurisdictions and their departments")
blp.before_request(require_login)


@blp.route("/jurisdictions")
class Jurisdictions(MethodView):
    @blp.response(200)
    @blp.doc(security=[{"bearer": []}])
    def get(self) -> list[dict[str, Any]]:
        """Every loaded jurisdiction (summary: no measures)."""
        return [
            {
                "id": j.id,
                "name": j.name,
                "level": j.level,
                "lead": j.lead,
                "departments": len(j.departments),
                "measures": len(j.measures),
            }
            for j in engine_context().jurisdictions.values()
        ]


@blp.route("/jurisdictions/<jurisdiction_id>")
class JurisdictionById(MethodView):
    @blp.response(200)
    @blp.doc(security=[{"bearer": []}])
    def get(self, jurisdiction_id: str) -> dict[str, Any]:
        jurisdiction = engine_context().jurisdictions.get(jurisdiction_id)
        if jurisdiction is None:
            raise NotFound(f"jurisdiction {jurisdiction_id!r} not found")
        return jurisdiction.to_dict()
