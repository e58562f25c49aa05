"""Admin repairs of running instances: migrate to another version, move tokens."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import instance_changes
from services.auth import current_principal, require_login
from services.extensions import engine_context
from services.schemas import InstanceSchema, MigrateInstanceSchema, ModifyInstanceSchema

blp = Blueprint("instance_changes", __name__, description="Instance migration and modification")
blp.before_request(require_login)


@blp.route("/instances/<instance_id>/migrate")
class MigrateInstance(MethodView):
    @blp.arguments(MigrateInstanceSchema)
    @blp.response(200, InstanceSchema)
    @blp.alt_response(409, description="problem+json `migration-unsafe`, listing `problems`")
    @blp.doc(security=[{"bearer": []}])
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """Move a running instance to another version of its process (admins).

        Every started or finished element must exist in the target version under the
        same BPMN id, or be mapped with ``mapping`` (old id → new id).  Otherwise, or
        when an active element changes kind, loop or called process, the answer is 409
        naming each such element, and nothing changes.
        """
        return instance_changes.migrate_instance(
            engine_context(), current_principal(), instance_id, body["to_version"], body["mapping"]
        )


@blp.route("/instances/<instance_id>/modify")
class ModifyInstance(MethodView):
    @blp.arguments(ModifyInstanceSchema)
    @blp.response(200, InstanceSchema)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        """Cancel active elements and/or start a new path before an element (admins)."""
        return instance_changes.modify_instance(
            engine_context(),
            current_principal(),
            instance_id,
            body["cancel"],
            body.get("start_before"),
            body["reason"],
        )
