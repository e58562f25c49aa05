"""Send a message to the instances waiting for it (or to a process it starts)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import messages
from services.auth import current_principal, require_login
from services.extensions import engine_context
from services.schemas import MessageResultSchema, MessageSchema

blp = Blueprint("messages", __name__, description="Messages to running processes")
blp.before_request(require_login)


@blp.route("/messages")
class Messages(MethodView):
    @blp.arguments(MessageSchema)
    @blp.response(200, MessageResultSchema)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Correlate by ``instance_id``, ``business_key`` or process variables; 404 if none."""
        reached = messages.correlate(
            engine_context(),
            current_principal(),
            body["name"],
            body["correlation"],
            body["variables"],
        )
        return {"reached": reached}
