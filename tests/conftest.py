"""Shared fixtures.

Database tests take the ``database`` fixture, which runs each of them twice:
on a SQLite file and on PostgreSQL (``HUIQIAN_TEST_DATABASE_URL``, default the
local server's ``test`` database).  Every PostgreSQL test gets a schema of its
own, so tests are isolated and can run in parallel.  When PostgreSQL cannot be
reached the test is skipped locally but fails under ``CI=true``.
"""

from __future__ import annotations

import os
import uuid
from io import BytesIO
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from engine import schema
from engine.db import Database
from services.app import create_app
from services.demo import seed_demo_users

PG_DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEMO_PASSWORD = "huiqian-test-password"
FIXTURES = Path(__file__).parent / "fixtures"


def postgres_url() -> str:
    return os.environ.get("HUIQIAN_TEST_DATABASE_URL", PG_DEFAULT_URL)


def _postgres_unreachable(reason: str) -> None:
    message = f"PostgreSQL at {make_url(postgres_url()).render_as_string()} unreachable: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A URL whose connections use a fresh, empty PostgreSQL schema; dropped afterwards."""
    admin = create_engine(postgres_url(), isolation_level="AUTOCOMMIT")
    name = f"t_{uuid.uuid4().hex[:16]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means unreachable
        admin.dispose()
        _postgres_unreachable(str(exc).splitlines()[0])
    url = make_url(postgres_url()).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'huiqian.sqlite3'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated database, once on SQLite and once on PostgreSQL."""
    db = Database(database_url)
    schema.upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def app(database: Database, tmp_path: Path) -> Flask:
    app = create_app(
        {
            "TESTING": True,
            "HUIQIAN_DATA_DIR": tmp_path / "data",
            "HUIQIAN_DATABASE_URL": database.url,
        }
    )
    seed_demo_users(app.extensions["huiqian.engine"], DEMO_PASSWORD)
    return app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def login(client: FlaskClient) -> Callable[[str], dict[str, str]]:
    """``login("baoji.hrss")`` → Authorization header for that demo user."""

    def headers(username: str) -> dict[str, str]:
        response = client.post(
            "/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD}
        )
        assert response.status_code == 200, response.get_json()
        return {"Authorization": f"Bearer {response.get_json()['access_token']}"}

    return headers


@pytest.fixture
def deploy(client: FlaskClient, login: Callable[[str], dict[str, str]]) -> Callable[..., Any]:
    """``deploy(path_or_bytes, filename=None)`` as the designer; returns the JSON answer."""
    designer = login("designer")

    def upload(source: Path | bytes, filename: str | None = None) -> dict[str, Any]:
        content = source.read_bytes() if isinstance(source, Path) else source
        name = filename or (source.name if isinstance(source, Path) else "upload.bpmn")
        response = client.post(
            "/api/v1/definitions",
            headers=designer,
            data={"file": (BytesIO(content), name)},
            content_type="multipart/form-data",
        )
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()

    return upload
