"""Helpers for driving the web UI through Flask's test client: sign in, read pages,
and post forms with the CSRF token the page carries.
"""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import DEMO_PASSWORD


def page_text(response: TestResponse) -> str:
    return html.unescape(response.get_data(as_text=True))


def csrf_token(response: TestResponse) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, username: str, password: str = DEMO_PASSWORD) -> TestResponse:
    token = csrf_token(client.get("/login"))
    form = {"username": username, "password": password, "csrf_token": token}
    return client.post("/login", data=form)


def submit(
    client: FlaskClient, page: str, action: str, form: dict[str, str | list[str]]
) -> TestResponse:
    """POST ``form`` to ``action`` as the form on ``page`` would: with that page's CSRF token."""
    token = csrf_token(client.get(page))
    return client.post(action, data={"csrf_token": token, **form})
