"""Domain errors raised by the engine.

Each error carries a stable ``type`` slug and an HTTP-like ``status`` so that the
service layer can turn it into an RFC 9457 ``application/problem+json`` answer
without the engine knowing anything about HTTP.  The slugs are part of the API
contract: integrations match on them, so never rename one.
"""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://huiqian.dev/problems/"


class HuiqianError(Exception):
    """Base class: ``type_slug`` and ``status`` are overridden by subclasses."""

    type_slug = "internal-error"
    status = 500
    title = "Internal error"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.type_slug


class NotFound(HuiqianError):
    type_slug = "not-found"
    status = 404
    title = "Not found"


class Forbidden(HuiqianError):
    type_slug = "forbidden"
    status = 403
    title = "Forbidden"


class Unauthorized(HuiqianError):
    type_slug = "unauthorized"
    status = 401
    title = "Authentication required"


class Conflict(HuiqianError):
    """The resource changed under the caller (stale version, task already done)."""

    type_slug = "conflict"
    status = 409
    title = "Conflict"


class InvalidInput(HuiqianError):
    """Well-formed request whose content the engine cannot accept."""

    type_slug = "invalid-input"
    status = 422
    title = "Invalid input"


class DefinitionRejected(InvalidInput):
    """A BPMN/DMN file was refused: unsafe XML, malformed XML, or invalid model.

    ``extra`` may hold ``line`` and ``element_id`` so a designer can find the fault.
    """

    type_slug = "invalid-definition"
    title = "Invalid process definition"


class PayloadTooLarge(HuiqianError):
    type_slug = "payload-too-large"
    status = 413
    title = "Payload too large"


class ScriptError(HuiqianError):
    """A model expression or script failed or broke a sandbox rule."""

    type_slug = "script-error"
    status = 422
    title = "Script error"
