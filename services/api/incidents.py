"""Incidents: steps that failed after their retries, and retrying them (admins)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import incidents
from engine.repository import Page
from services.auth import current_principal, require_login
from services.extensions import engine_context
from services.schemas import IncidentQuerySchema, IncidentSchema

blp = Blueprint("incidents", __name__, description="Incidents (admins)")
blp.before_request(require_login)


@blp.route("/incidents")
class Incidents(MethodView):
    @blp.arguments(IncidentQuerySchema, location="query")
    @blp.response(200, IncidentSchema(many=True))
    @blp.paginate()
    @blp.doc(security=[{"bearer": []}])
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> Any:
        """Open incidents (``state=all`` includes resolved ones), newest first."""
        items, total = incidents.list_incidents(
            engine_context(),
            current_principal(),
            Page(pagination_parameters.page, pagination_parameters.page_size),
            open_only=query["state"] == "open",
            instance_id=query.get("instance_id"),
        )
        pagination_parameters.item_count = total
        return items


@blp.route("/incidents/<int:incident_id>")
class IncidentById(MethodView):
    @blp.response(200, IncidentSchema)
    @blp.doc(security=[{"bearer": []}])
    def get(self, incident_id: int) -> Any:
        return incidents.get_incident(engine_context(), current_principal(), incident_id)


@blp.route("/incidents/<int:incident_id>/retry")
class RetryIncident(MethodView):
    @blp.response(200, IncidentSchema)
    @blp.doc(security=[{"bearer": []}])
    def post(self, incident_id: int) -> Any:
        """Run the failed step again now, with a fresh set of attempts."""
        return incidents.retry_incident(engine_context(), current_principal(), incident_id)
