"""Structured logs: one JSON object per line, for the API processes and the workers.

Every line has ``time`` (UTC, ISO 8601), ``level``, ``logger`` and ``message``.
Inside a request it also has ``request_id`` (the client's ``X-Request-ID`` if it
is a sane token, else a generated one, echoed in the response header), ``user``
once the caller is authenticated, and ``instance_id`` when the route names one;
inside a job, ``job_id``, ``job_kind`` and ``instance_id`` (``engine.log_context``).
Each request ends with one ``huiqian.access`` line (method, path, status,
duration).

Secrets never reach the output: messages and tracebacks pass through
``redact``, which masks bearer tokens, webhook secrets, passwords in URLs and
``password``/``secret``/``token`` fields, whatever code logged them.

``HUIQIAN_LOG_FORMAT=text`` switches to plain lines (local debugging);
``HUIQIAN_LOG_LEVEL`` sets the level (default ``INFO``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, has_request_context, request

from engine import log_context

REQUEST_ID_HEADER = "X-Request-ID"
ACCESS_LOGGER = "huiqian.access"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_REDACTIONS = (
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), r"\1[redacted]"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), "whsec_[redacted]"),
    (re.compile(r"(://[^:/@\s]+:)[^@\s/]+@"), r"\1[redacted]@"),
    (
        re.compile(
            r"(?i)([\"']?\b(?:password|passwd|secret|access_token|token|authorization)[\"']?"
            r"\s*[:=]\s*[\"']?)(?!bearer\s|\[redacted\])[^\"',;&\s}]+"
        ),
        r"\1[redacted]",
    ),
)
# Attributes every LogRecord has; anything else was passed with ``extra=`` and is logged.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
}


def redact(text: str) -> str:
    """``text`` with every credential-looking value replaced by ``[redacted]``."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _request_fields() -> dict[str, Any]:
    if not has_request_context():
        return {}
    fields: dict[str, Any] = {"request_id": g.get("request_id")}
    principal = g.get("principal")
    if principal is not None:
        fields["user"] = principal.username
    instance_id = (request.view_args or {}).get("instance_id")
    if instance_id:
        fields["instance_id"] = instance_id
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per record, with the request's and the job's context."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        entry.update(log_context.current())
        entry.update(_request_fields())
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class RedactingFormatter(logging.Formatter):
    """Plain text lines (``HUIQIAN_LOG_FORMAT=text``), redacted all the same."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def formatter() -> logging.Formatter:
    if os.environ.get("HUIQIAN_LOG_FORMAT", "json").lower() == "text":
        return RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    return JsonFormatter()


def configure() -> None:
    """Send every logger's records to stderr through ``formatter()``; idempotent."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "huiqian", False):
            root.removeHandler(existing)
    handler.huiqian = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(os.environ.get("HUIQIAN_LOG_LEVEL", "INFO").upper())


def _begin_request() -> None:
    offered = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = offered if _VALID_REQUEST_ID.match(offered) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _end_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id") or uuid.uuid4().hex
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    logging.getLogger(ACCESS_LOGGER).info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
        },
    )
    return response


def register(app: Flask) -> None:
    """Give every request an id (echoed as ``X-Request-ID``) and one access log line."""
    app.before_request(_begin_request)
    app.after_request(_end_request)
