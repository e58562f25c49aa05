"""Human tasks: an officer's inbox and the actions on one task."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import commands
from engine.errors import Forbidden
from engine.repository import Page, TaskQuery
from engine.unit_of_work import SqlUnitOfWork
from services.auth import current_principal, require_login
from services.extensions import engine_context
from services.schemas import CompleteTaskSchema, TaskQuerySchema, TaskSchema, VersionSchema

blp = Blueprint("tasks", __name__, description="Human tasks")
blp.before_request(require_login)


@blp.route("/tasks")
class Tasks(MethodView):
    @blp.arguments(TaskQuerySchema, location="query")
    @blp.response(200, TaskSchema(many=True))
    @blp.paginate()
    @blp.doc(security=[{"bearer": []}])
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> Any:
        """``scope``: ``mine`` (claimed by me), ``department`` (my departments'), ``all``."""
        principal = current_principal()
        visible = commands.visible_departments(principal)
        scope = query.pop("scope")
        if scope == "all" and visible is not None:
            raise Forbidden("scope=all is for admins and integrators")
        task_query = TaskQuery(
            departments=visible,
            assignee=principal.username if scope == "mine" else None,
            state=query.get("state"),
            instance_id=query.get("instance_id"),
            department=query.get("department"),
        )
        page = Page(pagination_parameters.page, pagination_parameters.page_size)
        with SqlUnitOfWork(engine_context().db, read_only=True) as uow:
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
