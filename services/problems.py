"""RFC 9457 problem details for every error the service answers.

Engine errors carry their own stable ``type`` slug; HTTP errors raised by Flask
and Werkzeug (404 route, 405, 413, 415, 422 from request parsing) get one here,
so a client can always match on ``type`` and never has to parse HTML.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, json
from werkzeug.exceptions import HTTPException

from engine.errors import PROBLEM_BASE, HuiqianError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)

_HTTP_TYPES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-input",
    429: "too-many-requests",
}


def problem(status: int, type_slug: str, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": PROBLEM_BASE + type_slug, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)


def from_engine_error(error: HuiqianError) -> Response:
    response = problem(error.status, error.type_slug, error.title, error.detail, **error.extra)
    if error.extra.get("retry_after") is not None:
        response.headers["Retry-After"] = str(error.extra["retry_after"])
    return response


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    extra: dict[str, Any] = {}
    data = getattr(error, "data", None)
    if isinstance(data, dict) and "messages" in data:
        # webargs/marshmallow validation messages, keyed by location then field.
        extra["errors"] = data["messages"]
    detail = error.description or ""
    if extra.get("errors"):
        detail = "the request does not match its schema: see errors"
    response = problem(status, _HTTP_TYPES.get(status, "http-error"), error.name, detail, **extra)
    if status == 405 and error.get_response().headers.get("Allow"):
        response.headers["Allow"] = error.get_response().headers["Allow"]
    return response


def register(app: Flask) -> None:
    app.register_error_handler(HuiqianError, from_engine_error)
    app.register_error_handler(HTTPException, from_http_exception)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return problem(500, "internal-error", "Internal error", "an unexpected error occurred")
