"""Logins: throttled failures, revocable tokens, password policy; security headers everywhere."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine import login_limits
from engine.clock import FakeClock
from engine.errors import InvalidInput
from engine.identity import check_password_policy
from tests.api_helpers import ok, problem
from tests.conftest import DEMO_PASSWORD

TOKEN = "/api/v1/auth/token"


@pytest.fixture
def clock(app: Flask) -> FakeClock:
    fake = FakeClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    app.extensions["huiqian.engine"].clock = fake
    return fake


def _login(client: FlaskClient, username: str, password: str, address: str = "10.0.0.1"):
    return client.post(
        TOKEN,
        json={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_eleventh_attempt_after_ten_failures_is_429_even_with_the_right_password(
    client: FlaskClient, clock: FakeClock
) -> None:
    for _ in range(login_limits.MAX_FAILURES):
        problem(_login(client, "baoji.hrss", "wrong-password"), 401, "unauthorized")
    refused = _login(client, "baoji.hrss", DEMO_PASSWORD)
    problem(refused, 429, "too-many-requests")
    assert 0 < int(refused.headers["Retry-After"]) <= login_limits.WINDOW.total_seconds()
    # Another user from another address is not affected.
    ok(_login(client, "baoji.fin", DEMO_PASSWORD, address="10.0.0.2"))


def test_throttle_lifts_when_the_window_has_passed(client: FlaskClient, clock: FakeClock) -> None:
    for _ in range(login_limits.MAX_FAILURES):
        _login(client, "baoji.hrss", "wrong-password")
    problem(_login(client, "baoji.hrss", DEMO_PASSWORD), 429, "too-many-requests")
    clock.advance(seconds=login_limits.WINDOW.total_seconds() + 1)
    ok(_login(client, "baoji.hrss", DEMO_PASSWORD))


def test_one_address_spraying_many_usernames_is_throttled(
    client: FlaskClient, clock: FakeClock
) -> None:
    for number in range(login_limits.MAX_FAILURES):
        _login(client, f"nobody{number}", "wrong-password", address="10.9.9.9")
    problem(_login(client, "admin", DEMO_PASSWORD, address="10.9.9.9"), 429, "too-many-requests")
    ok(_login(client, "admin", DEMO_PASSWORD, address="10.0.0.3"))


def test_successful_login_forgets_the_usernames_failures(
    client: FlaskClient, clock: FakeClock
) -> None:
    for _ in range(login_limits.MAX_FAILURES - 1):
        _login(client, "baoji.hrss", "wrong-password", address="10.0.0.4")
    ok(_login(client, "baoji.hrss", DEMO_PASSWORD, address="10.0.0.5"))
    for _ in range(login_limits.MAX_FAILURES - 1):
        _login(client, "baoji.hrss", "wrong-password", address="10.0.0.6")
    ok(_login(client, "baoji.hrss", DEMO_PASSWORD, address="10.0.0.7"))


def test_revoked_token_is_401_and_other_tokens_of_the_user_still_work(
    client: FlaskClient,
) -> None:
    first = ok(_login(client, "admin", DEMO_PASSWORD))["access_token"]
    second = ok(_login(client, "admin", DEMO_PASSWORD))["access_token"]
    bearer = {"Authorization": f"Bearer {first}"}
    ok(client.get("/api/v1/me", headers=bearer))
    assert client.post("/api/v1/auth/revoke", headers=bearer).status_code == 204
    problem(client.get("/api/v1/me", headers=bearer), 401, "unauthorized")
    problem(client.post("/api/v1/auth/revoke", headers=bearer), 401, "unauthorized")
    ok(client.get("/api/v1/me", headers={"Authorization": f"Bearer {second}"}))


@pytest.mark.parametrize(
    ("password", "username", "rule"),
    [
        ("short1!", "someone", "at least 10"),
        ("Baoji.Officer", "baoji.officer", "username"),
        ("1234567890", "someone", "too common"),
        ("Password123", "someone", "too common"),
    ],
)
def test_weak_passwords_are_refused_naming_the_rule(
    password: str, username: str, rule: str
) -> None:
    with pytest.raises(InvalidInput, match=rule):
        check_password_policy(password, username)


def test_a_long_uncommon_password_is_accepted() -> None:
    check_password_policy("黄河远上白云间-2026", "baoji.hrss")


def test_api_answers_carry_security_headers_and_are_not_cached(client: FlaskClient) -> None:
    for response in (
        client.get("/api/v1/health"),
        client.get("/api/v1/me"),  # a problem answer
        _login(client, "admin", DEMO_PASSWORD),  # carries a token
        client.get("/api/v1/openapi.json"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Cache-Control"] == "no-store"


def test_docs_page_csp_allows_exactly_its_own_inline_script(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    csp = page.headers["Content-Security-Policy"]
    inline = re.findall(rb"<script>(.*?)</script>", page.data, re.DOTALL)
    assert inline, "the Swagger UI page has its init script inline"
    for script in inline:
        digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp


def test_vendored_static_files_stay_cacheable(client: FlaskClient) -> None:
    asset = client.get("/static/vendor/swagger-ui/swagger-ui.css")
    assert asset.status_code == 200
    assert asset.headers.get("Cache-Control") != "no-store"
    assert asset.headers["X-Content-Type-Options"] == "nosniff"
