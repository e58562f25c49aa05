"""Marshmallow schemas: the API contract, validated on the way in, shaped on the way out.

Input schemas refuse unknown fields (marshmallow's default), so a typo in a
client's request is a 422 naming the field instead of being silently ignored.
"""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from services.brands import BRAND_STATUSES


class HealthSchema(Schema):
    status = fields.String(required=True)
    database = fields.String(required=True)


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=120))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=1024))


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True)
    expires_in = fields.Integer(required=True)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.String()
    jurisdiction = fields.String(allow_none=True)
    department = fields.String(allow_none=True)


class DefinitionSchema(Schema):
    id = fields.String()
    kind = fields.String()
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    filename = fields.String()
    checksum = fields.String()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()


class DeploymentSchema(DefinitionSchema):
    created = fields.Boolean(
        metadata={"description": "false when the content was already deployed"}
    )
    deployed = fields.List(fields.Nested(DefinitionSchema))


class DefinitionQuerySchema(Schema):
    key = fields.String()
    kind = fields.String(validate=validate.OneOf(["bpmn", "dmn"]))


class UploadSchema(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class StartInstanceSchema(Schema):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=200))
    version = fields.Integer(validate=validate.Range(min=1))
    jurisdiction = fields.String(validate=validate.Length(min=1, max=64))
    business_key = fields.String(validate=validate.Length(min=1, max=200))
    variables = fields.Dict(keys=fields.String(), load_default=dict)


class InstanceSchema(Schema):
    id = fields.String()
    process_key = fields.String()
    definition_id = fields.String()
    business_key = fields.String(allow_none=True)
    jurisdiction = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": ["running", "completed", "terminated", "error"]})
    variables = fields.Dict()
    error = fields.String(allow_none=True)
    started_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    version = fields.Integer()


class InstanceQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(["running", "completed", "terminated", "error"]))
    process_key = fields.String()
    business_key = fields.String()
    jurisdiction = fields.String()


class TerminateSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class HistoryEntrySchema(Schema):
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    task_id = fields.String(allow_none=True)
    details = fields.Dict()


class TaskSchema(Schema):
    id = fields.String()
    instance_id = fields.String()
    process_key = fields.String()
    name = fields.String()
    bpmn_id = fields.String()
    jurisdiction = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    assignee = fields.String(allow_none=True)
    state = fields.String(metadata={"enum": ["open", "completed", "cancelled"]})
    form = fields.Dict(allow_none=True)
    data = fields.Dict()
    result = fields.Dict(allow_none=True)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    version = fields.Integer()


class TaskQuerySchema(Schema):
    scope = fields.String(
        load_default="department", validate=validate.OneOf(["mine", "department", "all"])
    )
    state = fields.String(validate=validate.OneOf(["open", "completed", "cancelled"]))
    instance_id = fields.String()
    department = fields.String()


class VersionSchema(Schema):
    version = fields.Integer(validate=validate.Range(min=1))


class CompleteTaskSchema(VersionSchema):
    data = fields.Dict(keys=fields.String(), load_default=dict)


class EvaluateDecisionSchema(Schema):
    variables = fields.Dict(keys=fields.String(), load_default=dict)
    version = fields.Integer(validate=validate.Range(min=1))


class DecisionResultSchema(Schema):
    key = fields.String()
    result = fields.Raw()


class RecordEventSchema(Schema):
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    instance_id = fields.String(allow_none=True)
    details = fields.Dict()


class BrandSchema(Schema):
    id = fields.String()
    jurisdiction = fields.String(allow_none=True)
    name = fields.String()
    status = fields.String(metadata={"enum": list(BRAND_STATUSES)})
    data = fields.Dict()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer()


class BrandDetailSchema(BrandSchema):
    history = fields.List(
        fields.Nested(RecordEventSchema), metadata={"description": "oldest first, append-only"}
    )


class BrandQuerySchema(Schema):
    jurisdiction = fields.String()
    status = fields.String(validate=validate.OneOf(BRAND_STATUSES))


class MessageSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    correlation = fields.Dict(keys=fields.String(), load_default=dict)
    variables = fields.Dict(keys=fields.String(), load_default=dict)


class DeliverySchema(Schema):
    instance_id = fields.String()
    started = fields.Boolean(metadata={"description": "true when the message started the instance"})


class MessageResultSchema(Schema):
    reached = fields.List(fields.Nested(DeliverySchema))
