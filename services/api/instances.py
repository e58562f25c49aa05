"""Start, list, read and terminate process instances."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine import commands
from engine.identity import Role
from engine.repository import Page
from engine.unit_of_work import SqlUnitOfWork
from services.auth import current_principal, require_login
from services.extensions import engine_context
from services.schemas import (
    HistoryEntrySchema,
    InstanceQuerySchema,
    InstanceSchema,
    StartInstanceSchema,
    TerminateSchema,
)

blp = Blueprint("instances", __name__, description="Process instances")
blp.before_request(require_login)


@blp.route("/instances")
class Instances(MethodView):
    @blp.arguments(InstanceQuerySchema, location="query")
    @blp.response(200, InstanceSchema(many=True))
    @blp.paginate()
    @blp.doc(security=[{"bearer": []}])
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> Any:
        principal = current_principal()
        if principal.role is Role.OFFICER:
            query["jurisdiction"] = principal.jurisdiction
        page = Page(pagination_parameters.page, pagination_parameters.page_size)
        with SqlUnitOfWork(engine_context().db, read_only=True) as uow:
            items, total = uow.instances.list(page, **query)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(StartInstanceSchema)
    @blp.response(201, InstanceSchema)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body: dict[str, Any]) -> Any:
        """Start an instance of the latest (or a given) version of a process."""
        return commands.start_instance(engine_context(), current_principal(), **body)


@blp.route("/instances/<instance_id>")
class InstanceById(MethodView):
    @blp.response(200, InstanceSchema)
    @blp.doc(security=[{"bearer": []}])
    def get(self, instance_id: str) -> Any:
        return commands.get_instance(engine_context(), current_principal(), instance_id)


@blp.route("/instances/<instance_id>/history")
class InstanceHistory(MethodView):
    @blp.response(200, HistoryEntrySchema(many=True))
    @blp.doc(security=[{"bearer": []}])
    def get(self, instance_id: str) -> Any:
        return commands.instance_history(engine_context(), current_principal(), instance_id)


@blp.route("/instances/<instance_id>/terminate")
class TerminateInstance(MethodView):
    @blp.arguments(TerminateSchema)
    @blp.response(200, InstanceSchema)
    @blp.doc(security=[{"bearer": []}])
    def post(self, body: dict[str, Any], instance_id: str) -> Any:
        return commands.terminate_instance(
            engine_context(), current_principal(), instance_id, body["reason"]
        )
