"""Schemas of the approval operations (docs/approval-operations.md): requests and answers.

Kept apart from ``services.schemas`` because they extend its task and instance schemas
(a task shows its delegation) rather than adding to the shared contract file.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.schemas import InstanceSchema, TaskQuerySchema, TaskSchema, VersionSchema

OPINION_LENGTH = validate.Length(max=2000)
# Proxy periods: far enough apart for any absence, near enough to store on every database.
PERIOD = validate.Range(min=datetime(2000, 1, 1, tzinfo=UTC), max=datetime(2200, 1, 1, tzinfo=UTC))


def _opinion(description: str) -> fields.String:
    return fields.String(
        load_default="", validate=OPINION_LENGTH, metadata={"description": description}
    )


def _required_opinion(description: str) -> fields.String:
    return fields.String(
        required=True,
        validate=[validate.Length(min=1, max=2000), validate.Regexp(r"[\s\S]*\S")],
        metadata={"description": description},
    )


class ApprovalTaskSchema(TaskSchema):
    owner = fields.String(allow_none=True, metadata={"description": "委派: the delegator"})
    delegation = fields.String(allow_none=True, metadata={"enum": ["pending", "resolved"]})
    last_urged_at = fields.DateTime(allow_none=True)


class ApprovalTaskQuerySchema(TaskQuerySchema):
    scope = fields.String(
        load_default="department",
        validate=validate.OneOf(["mine", "department", "all", "cc"]),
        metadata={"description": "cc: the tasks copied to me or my department (抄送我的)"},
    )


class TransferSchema(VersionSchema):
    to_user = fields.String(validate=validate.Length(min=1, max=120))
    to_department = fields.String(validate=validate.Length(min=1, max=64))
    opinion = _opinion("why it is transferred")

    @validates_schema
    def _one_target(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("to_user" in data) == ("to_department" in data):
            raise ValidationError("give exactly one of to_user and to_department")


class DelegateSchema(VersionSchema):
    to_user = fields.String(required=True, validate=validate.Length(min=1, max=120))
    opinion = _opinion("what the delegate should look at")


class ResolveSchema(VersionSchema):
    opinion = _opinion("the delegate's advice to the delegator")


class ReturnSchema(VersionSchema):
    to_task_id = fields.String(
        validate=validate.Length(min=1, max=36), metadata={"description": "a completed task"}
    )
    to_element = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "a BPMN user task id: its latest completed task"},
    )
    opinion = _required_opinion("why it goes back (required)")

    @validates_schema
    def _one_target(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if ("to_task_id" in data) == ("to_element" in data):
            raise ValidationError("give exactly one of to_task_id and to_element")


class RejectSchema(VersionSchema):
    opinion = _required_opinion("why the matter is refused (required)")


class WithdrawSchema(VersionSchema):
    reason = _opinion("why the submitter takes it back")


class UrgeSchema(Schema):
    message = fields.String(load_default="", validate=validate.Length(max=500))


class CopyTaskSchema(Schema):
    users = fields.List(fields.String(validate=validate.Length(min=1, max=120)), load_default=list)
    departments = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)), load_default=list
    )
    note = fields.String(load_default="", validate=validate.Length(max=500))

    @validates_schema
    def _someone(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data.get("users") and not data.get("departments"):
            raise ValidationError("copy to at least one user or department")


class TaskCopySchema(Schema):
    id = fields.Integer()
    task_id = fields.String()
    instance_id = fields.String()
    username = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    cc_by = fields.String()
    note = fields.String()
    at = fields.DateTime()


class OutcomeSchema(Schema):
    task = fields.Nested(ApprovalTaskSchema, metadata={"description": "the task acted on"})
    instance = fields.Nested(InstanceSchema)
    created = fields.List(
        fields.Nested(ApprovalTaskSchema), metadata={"description": "tasks the operation opened"}
    )


class AddSignersSchema(Schema):
    departments = fields.List(
        fields.String(validate=validate.Length(min=1, max=64)),
        required=True,
        validate=validate.Length(min=1, max=100),
    )
    position = fields.String(
        load_default="parallel", validate=validate.OneOf(["parallel", "before", "after"])
    )
    opinion = _opinion("why the signers are added")


class RemoveSignerQuerySchema(Schema):
    opinion = _opinion("why the signer is removed")


class SignersSchema(Schema):
    rule = fields.String(allow_none=True)
    required = fields.Integer(allow_none=True, metadata={"description": "approvals the rule needs"})
    answered = fields.List(fields.String(), attribute="signers.answered")
    active = fields.List(
        fields.String(), attribute="signers.active", metadata={"description": "open tasks now"}
    )
    queued = fields.List(
        fields.String(), attribute="signers.queued", metadata={"description": "in turn, later"}
    )
    sequential = fields.Boolean(attribute="signers.sequential")
    created = fields.List(fields.Nested(ApprovalTaskSchema))


class OpinionSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    task_id = fields.String(allow_none=True)
    bpmn_id = fields.String(allow_none=True)
    task_name = fields.String()
    department = fields.String(allow_none=True)
    officer = fields.String()
    on_behalf_of = fields.String(
        allow_none=True, metadata={"description": "代理: the absent officer"}
    )
    action = fields.String()
    decision = fields.String(allow_none=True)
    opinion = fields.String()


class ProxyInputSchema(Schema):
    user = fields.String(
        validate=validate.Length(min=1, max=120),
        metadata={"description": "the absent officer; default me (admins name anyone)"},
    )
    proxy = fields.String(required=True, validate=validate.Length(min=1, max=120))
    starts_at = fields.AwareDateTime(required=True, default_timezone=UTC, validate=PERIOD)
    ends_at = fields.AwareDateTime(required=True, default_timezone=UTC, validate=PERIOD)
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class ProxySchema(Schema):
    id = fields.String()
    username = fields.String()
    proxy = fields.String()
    jurisdiction = fields.String(allow_none=True)
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    reason = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)
