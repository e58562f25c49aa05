"""Deploy and read process (BPMN) and decision (DMN) definitions."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint
from werkzeug.exceptions import UnsupportedMediaType

from engine import commands
from engine.errors import InvalidInput, NotFound, PayloadTooLarge
from engine.repository import Page
from engine.unit_of_work import SqlUnitOfWork
from engine.xml_safety import MAX_DEFINITION_BYTES
from services.auth import current_principal, require_login
from services.extensions import engine_context
from services.schemas import (
    DefinitionQuerySchema,
    DefinitionSchema,
    DeploymentSchema,
    UploadSchema,
    ValidationResultSchema,
)

blp = Blueprint("definitions", __name__, description="Process and decision definitions")
blp.before_request(require_login)


def _uploaded_file() -> tuple[bytes, str]:
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("send the file as multipart/form-data in the field 'file'")
    upload = request.files.get("file")
    if upload is None:
        raise InvalidInput("the multipart field 'file' is missing")
    limit = MAX_DEFINITION_BYTES
    data = upload.stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"definition files are limited to {limit} bytes")
    return data, upload.filename or "definition.bpmn"


@blp.route("/definitions")
class Definitions(MethodView):
    @blp.arguments(DefinitionQuerySchema, location="query")
    @blp.response(200, DefinitionSchema(many=True))
    @blp.paginate()
    @blp.doc(security=[{"bearer": []}])
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> Any:
        current_principal()
        page = Page(pagination_parameters.page, pagination_parameters.page_size)
        with SqlUnitOfWork(engine_context().db, read_only=True) as uow:
            items, total = uow.definitions.list(page, key=query.get("key"), kind=query.get("kind"))
        pagination_parameters.item_count = total
        return items

    @blp.doc(
        security=[{"bearer": []}],
        requestBody={
            "required": True,
            "content": {"multipart/form-data": {"schema": UploadSchema}},
        },
    )
    @blp.response(201, DeploymentSchema)
    @blp.alt_response(
        200, schema=DeploymentSchema, description="identical content: existing version"
    )
    def post(self) -> Any:
        """Deploy a .bpmn or .dmn file; identical content returns the existing version."""
        principal = current_principal()
        data, filename = _uploaded_file()
        deployment = commands.deploy(engine_context(), principal, data, filename)
        definition = deployment.definition
        body = {name: getattr(definition, name) for name in DefinitionSchema().fields}
        body.update(created=deployment.created, deployed=deployment.deployed)
        return body, 201 if deployment.created else 200


@blp.route("/definitions/validate")
class ValidateDefinition(MethodView):
    @blp.doc(
        security=[{"bearer": []}],
        requestBody={
            "required": True,
            "content": {"multipart/form-data": {"schema": UploadSchema}},
        },
    )
    @blp.response(200, ValidationResultSchema)
    def post(self) -> Any:
        """Check a .bpmn or .dmn file as a deployment would, without deploying it.

        A rejected file answers 422 ``invalid-definition`` with ``element_id`` and ``line``.
        """
        principal = current_principal()
        data, filename = _uploaded_file()
        kind, keys = commands.check_definition(engine_context(), principal, data, filename)
        return {"valid": True, "kind": kind, "keys": keys}


def _definition(definition_id: str) -> Any:
    with SqlUnitOfWork(engine_context().db, read_only=True) as uow:
        definition = uow.definitions.get(definition_id)
    if definition is None:
        raise NotFound(f"definition {definition_id} not found")
    return definition


@blp.route("/definitions/<definition_id>")
class DefinitionById(MethodView):
    @blp.response(200, DefinitionSchema)
    @blp.doc(security=[{"bearer": []}])
    def get(self, definition_id: str) -> Any:
        current_principal()
        return _definition(definition_id)


@blp.route("/definitions/<definition_id>/xml")
class DefinitionXml(MethodView):
    @blp.response(200, content_type="application/xml")
    @blp.doc(security=[{"bearer": []}])
    def get(self, definition_id: str) -> Response:
        current_principal()
        return Response(_definition(definition_id).xml, mimetype="application/xml")
