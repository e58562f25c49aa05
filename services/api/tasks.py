"""Human tasks: an officer's inbox and the actions on one task."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import commands
from engine.approvals import access
from engine.repository import Page
from engine.unit_of_work import SqlUnitOfWork
from services.approval_schemas import ApprovalTaskQuerySchema as TaskQuerySchema
from services.approval_schemas import ApprovalTaskSchema as TaskSchema
from services.auth import current_principal, require_login
from services.extensions import engine_context
from services.schemas import CompleteTaskSchema, VersionSchema

blp = Blueprint("tasks", __name__, description="Human tasks")
blp.before_request(require_login)


@blp.route("/tasks")
class Tasks(MethodView):
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskSchema(many=True))
    @blp.paginate()
    @blp.doc(security=[{"bearer": []}])
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> Any:
        """``scope``: ``department`` (what I work on: my department's, transferred or
        delegated to me, and those of officers I stand in for), ``mine`` (claimed by me),
        ``all`` (admins and integrators), ``cc`` (copied to me or my department)."""
        ctx = engine_context()
        page = Page(pagination_parameters.page, pagination_parameters.page_size)
        with SqlUnitOfWork(ctx.db, read_only=True) as uow:
            reach = access.reach(uow.session, current_principal(), ctx.clock())
            task_query = access.task_query(reach, query.pop("scope"), **query)
            items, total = uow.tasks.list(page, task_query)
        pagination_parameters.item_count = total
        return items


@blp.route("/tasks/<task_id>")
class TaskById(MethodView):
    @blp.response(200, TaskSchema)
    @blp.doc(security=[{"bearer": []}])
    def get(self, task_id: str) -> Any:
        return commands.get_task(engine_context(), current_principal(), task_id)


@blp.route("/tasks/<task_id>/claim")
class ClaimTask(MethodView):
    @blp.arguments(VersionSchema(partial=True), required=False)
    @blp.response(200, TaskSchema)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        return commands.claim_task(
            engine_context(), current_principal(), task_id, body.get("version")
        )


@blp.route("/tasks/<task_id>/unclaim")
class UnclaimTask(MethodView):
    @blp.arguments(VersionSchema(partial=True), required=False)
    @blp.response(200, TaskSchema)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        return commands.unclaim_task(
            engine_context(), current_principal(), task_id, body.get("version")
        )


@blp.route("/tasks/<task_id>/complete")
class CompleteTask(MethodView):
    @blp.arguments(CompleteTaskSchema)
    @blp.response(200, TaskSchema)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body: dict[str, Any], task_id: str) -> Any:
        """Complete a task; a second completion, or a stale ``version``, answers 409."""
        return commands.complete_task(
            engine_context(), current_principal(), task_id, body["data"], body.get("version")
        )
