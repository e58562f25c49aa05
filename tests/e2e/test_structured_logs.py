"""JSON log lines with request id, user and instance; no password, token or secret ever logged."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from engine import jobs
from engine.models import Job
from services.structured_logs import REQUEST_ID_HEADER, JsonFormatter, redact
from tests.api_helpers import TWO_LANES, ok, start
from tests.conftest import DEMO_PASSWORD


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Every record of every logger, at DEBUG, through the service's JSON formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def parsed(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def access_lines(stream: io.StringIO) -> list[dict]:
    return [line for line in parsed(stream) if line["logger"] == "huiqian.access"]


def test_a_client_request_id_is_echoed_and_logged(client, login, log_lines):
    admin = login("admin")
    response = client.get("/api/v1/me", headers={**admin, REQUEST_ID_HEADER: "req-42.a"})
    assert response.headers[REQUEST_ID_HEADER] == "req-42.a"
    (line,) = [entry for entry in access_lines(log_lines) if entry["path"] == "/api/v1/me"]
    assert line["request_id"] == "req-42.a" and line["user"] == "admin"
    assert line["status"] == 200 and line["method"] == "GET" and line["level"] == "INFO"
    assert {"time", "logger", "message", "duration_ms"} <= set(line)


def test_a_missing_or_unsafe_request_id_is_replaced_by_a_generated_one(client):
    generated = client.get("/api/v1/health/live").headers[REQUEST_ID_HEADER]
    hostile = client.get(
        "/api/v1/health/live", headers={REQUEST_ID_HEADER: 'x"}, {"admin": true'}
    ).headers[REQUEST_ID_HEADER]
    assert len(generated) == 32 and len(hostile) == 32 and generated != hostile


def test_lines_about_an_instance_carry_its_id(client, login, deploy, log_lines):
    deploy(TWO_LANES)
    admin = login("admin")
    instance = start(client, admin, jurisdiction="baoji")
    ok(client.get(f"/api/v1/instances/{instance['id']}", headers=admin))
    lines = [e for e in access_lines(log_lines) if e["path"].endswith(instance["id"])]
    assert lines and all(line["instance_id"] == instance["id"] for line in lines)


def test_a_failing_job_is_logged_with_its_instance(app, client, login, deploy, log_lines):
    deploy(TWO_LANES)
    instance = start(client, login("admin"), jurisdiction="baoji")
    ctx = app.extensions["huiqian.engine"]
    jobs.register("explodes", lambda *_: (_ for _ in ()).throw(RuntimeError("kaboom")))
    try:
        with ctx.db.write_session() as s:
            s.add(Job(kind="explodes", instance_id=instance["id"], due_at=ctx.clock()))
            s.commit()
        jobs.run_one(ctx)
    finally:
        jobs._handlers.pop("explodes")
    (line,) = [e for e in parsed(log_lines) if "kaboom" in e["message"]]
    assert line["level"] == "WARNING" and line["logger"] == "engine.jobs"
    assert line["instance_id"] == instance["id"] and line["job_kind"] == "explodes"


def test_passwords_tokens_and_webhook_secrets_never_reach_the_log(app, client, log_lines):
    token = ok(
        client.post("/api/v1/auth/token", json={"username": "admin", "password": DEMO_PASSWORD})
    )["access_token"]
    admin = {"Authorization": f"Bearer {token}"}
    client.post("/api/v1/auth/token", json={"username": "admin", "password": "wrong-" + token})
    secret = ok(
        client.post(
            "/api/v1/webhooks/subscriptions",
            headers=admin,
            json={"url": "https://8.8.8.8/hook", "event_types": ["task.created"]},
        ),
        201,
    )["secret"]
    client.get("/api/v1/me", headers=admin)
    logging.getLogger("test").error(
        "calling with Authorization: Bearer %s secret=%s", token, secret
    )
    logging.getLogger("test").warning(
        "connect to postgresql+psycopg://huiqian:%s@db/huiqian failed", DEMO_PASSWORD
    )
    try:
        raise RuntimeError(f"token={token}")
    except RuntimeError:
        logging.getLogger("test").exception("failed")
    output = log_lines.getvalue()
    assert access_lines(log_lines), "the requests were logged"
    for leaked in (token, secret, secret.removeprefix("whsec_"), DEMO_PASSWORD):
        assert leaked not in output


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.DEF-123", "Authorization: Bearer [redacted]"),
        ("secret whsec_AbC+/0= here", "secret whsec_[redacted] here"),
        ("postgresql://u:p4ss@h:5432/db", "postgresql://u:[redacted]@h:5432/db"),
        ('{"password": "hunter2hunter"}', '{"password": "[redacted]"}'),
        ("access_token=xyz&next=1", "access_token=[redacted]&next=1"),
        ("nothing to hide", "nothing to hide"),
    ],
)
def test_redaction(text, expected):
    assert redact(text) == expected
