"""Evaluate deployed DMN decisions (award and subsidy amounts)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import commands
from services.auth import require_login
from services.extensions import engine_context
from services.schemas import DecisionResultSchema, EvaluateDecisionSchema

blp = Blueprint("decisions", __name__, description="Decision tables")
blp.before_request(require_login)


@blp.route("/decisions/<key>/evaluate")
class EvaluateDecision(MethodView):
    @blp.arguments(EvaluateDecisionSchema)
    @blp.response(200, DecisionResultSchema)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body: dict[str, Any], key: str) -> dict[str, Any]:
        result = commands.evaluate_deployed_decision(
            engine_context(), key, body["variables"], body.get("version")
        )
        return {"key": key, "result": result}
