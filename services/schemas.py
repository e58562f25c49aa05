"""Marshmallow schemas: the API contract, validated on the way in, shaped on the way out.

Input schemas refuse unknown fields (marshmallow's default), so a typo in a
client's request is a 422 naming the field instead of being silently ignored.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from engine.events import EVENT_TYPES
from engine.human_tasks import task_form
from services.brands import BRAND_STATUSES
from services.extensions import engine_context
from webhooks.models import DELIVERY_STATES


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


class TaskForm(fields.Dict):
    """A task's form, ``{"key", "schema"}``: rows keep the key, the schema is looked up here."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        if value:
            value = task_form(value, engine_context().forms)
        return super()._serialize(value, attr, obj, **kwargs)


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
    form = TaskForm(allow_none=True)
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


class IncidentSchema(Schema):
    id = fields.Integer()
    instance_id = fields.String(allow_none=True)
    kind = fields.String()
    element_id = fields.String(allow_none=True)
    error = fields.String()
    attempts = fields.Integer()
    created_at = fields.DateTime()
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)


class IncidentQuerySchema(Schema):
    state = fields.String(load_default="open", validate=validate.OneOf(["open", "all"]))
    instance_id = fields.String()


# --- webhooks ---------------------------------------------------------------------------------


class WebhookSubscriptionInputSchema(Schema):
    url = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "https (http only in demo mode or for allow-listed hosts)"},
    )
    event_types = fields.List(
        fields.String(validate=validate.OneOf(EVENT_TYPES)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_TYPES)),
    )
    jurisdiction = fields.String(
        allow_none=True, validate=validate.Length(min=1, max=64), load_default=None
    )
    process_key = fields.String(
        allow_none=True, validate=validate.Length(min=1, max=200), load_default=None
    )
    enabled = fields.Boolean(load_default=True)


class WebhookSubscriptionUpdateSchema(WebhookSubscriptionInputSchema):
    """Loaded with ``partial=True``: only the fields given change."""

    version = fields.Integer(
        validate=validate.Range(min=1), metadata={"description": "stale version: 409"}
    )


class RotateSecretSchema(Schema):
    overlap_seconds = fields.Integer(
        validate=validate.Range(min=0, max=7 * 86400),
        metadata={"description": "how long the old secret keeps signing; default 24 h"},
    )


class WebhookSubscriptionSchema(Schema):
    id = fields.String()
    url = fields.String()
    event_types = fields.List(fields.String())
    jurisdiction = fields.String(allow_none=True)
    process_key = fields.String(allow_none=True)
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    previous_secret_expires_at = fields.DateTime(
        allow_none=True, metadata={"description": "until then the old secret signs too"}
    )
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    version = fields.Integer()


class WebhookSubscriptionCreatedSchema(WebhookSubscriptionSchema):
    secret = fields.String(
        metadata={"description": "whsec_…; shown only in this answer: store it now"}
    )


class WebhookAttemptSchema(Schema):
    number = fields.Integer()
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Integer(allow_none=True)
    response = fields.String(allow_none=True, metadata={"description": "truncated"})
    error = fields.String(allow_none=True)


class WebhookDeliverySchema(Schema):
    id = fields.String()
    message_id = fields.String(metadata={"description": "the webhook-id header"})
    subscription_id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    state = fields.String(metadata={"enum": list(DELIVERY_STATES)})
    attempts = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    redelivery_of = fields.String(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    attempt_log = fields.List(fields.Nested(WebhookAttemptSchema))


# --- operations: probes, instance migration and modification ---------------------------------


class LivenessSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ok"]})


class ReadinessSchema(Schema):
    status = fields.String(required=True, metadata={"enum": ["ready"]})
    database = fields.String(required=True)
    schema = fields.List(fields.String(), required=True, metadata={"description": "revisions"})


class MigrateInstanceSchema(Schema):
    to_version = fields.Integer(required=True, validate=validate.Range(min=1))
    mapping = fields.Dict(
        keys=fields.String(validate=validate.Length(min=1, max=200)),
        values=fields.String(validate=validate.Length(min=1, max=200)),
        load_default=dict,
        metadata={"description": "BPMN id in the current version → BPMN id in to_version"},
    )


class ModifyInstanceSchema(Schema):
    cancel = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)),
        load_default=list,
        metadata={"description": "BPMN ids of active elements whose tokens are removed"},
    )
    start_before = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "BPMN id of the element where a new token starts"},
    )
    reason = fields.String(validate=validate.Length(max=2000), load_default="")


# --- designer: validation without deployment ---------------------------------------------------


class ValidationResultSchema(Schema):
    valid = fields.Boolean(required=True, metadata={"enum": [True]})
    kind = fields.String(required=True, metadata={"enum": ["bpmn", "dmn"]})
    keys = fields.List(
        fields.String(), required=True, metadata={"description": "processes or decisions defined"}
    )
