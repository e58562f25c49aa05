"""Shared fixtures.

Database tests take the ``database`` fixture, which runs each of them twice:
on a SQLite file and on PostgreSQL (``HUIQIAN_TEST_DATABASE_URL``, default the
local server's ``test`` database).  Migrations run once per test process: each
SQLite test gets a copy of a migrated template file, and each PostgreSQL test
runs in a schema private to its test process, emptied before the test.  Tests
that need a database of their own (concurrency, restarts) take
``postgres_schema_url``.  When PostgreSQL cannot be reached the test is skipped
locally but fails under ``CI=true``.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

# Cheap password hashing: the suite logs in thousands of times (see engine.identity).
os.environ.setdefault("HUIQIAN_ARGON2_TIME_COST", "1")
# One credential key for every app, worker and service process the suite starts.
os.environ.setdefault("HUIQIAN_ENCRYPTION_KEY", "dGVzdC1rZXktb2YtdGhlLWh1aXFpYW4tdGVzdHMtMzI=")
os.environ.setdefault("HUIQIAN_ARGON2_MEMORY_KIB", "1024")
# Every save is also dumped in full and compared with the incremental patch (engine.state_tracking).
os.environ.setdefault("HUIQIAN_VERIFY_STATE", "1")

from engine.db import Database  # noqa: E402
from services import migrations  # noqa: E402
from services.app import create_app  # noqa: E402
from services.demo import seed_demo_users  # noqa: E402

pytest_plugins = ("tests.webhooks_helpers",)

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


@contextmanager
def _private_schema() -> Iterator[str]:
    """A URL whose connections use a fresh PostgreSQL schema; dropped afterwards."""
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


def _migrated(url: str) -> str:
    db = Database(url)
    migrations.upgrade(db)
    db.dispose()
    return url


@pytest.fixture
def postgres_schema_url() -> Iterator[str]:
    """A migrated PostgreSQL database of this test's own."""
    with _private_schema() as url:
        yield _migrated(url)


@pytest.fixture(scope="session")
def _postgres_process_url() -> Iterator[str]:
    with _private_schema() as url:
        yield _migrated(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "huiqian.sqlite3"
    _migrated(f"sqlite:///{path}")
    return path


def _emptied(url: str) -> str:
    engine = create_engine(url)
    names = [name for name in inspect(engine).get_table_names() if name != "alembic_version"]
    with engine.begin() as connection:
        tables = ", ".join(f'"{name}"' for name in names)
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "huiqian.sqlite3"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}"
    return _emptied(request.getfixturevalue("_postgres_process_url"))


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated, empty database, once on SQLite and once on PostgreSQL."""
    db = Database(database_url)
    yield db
    db.dispose()


@pytest.fixture
def app(database: Database, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "HUIQIAN_DATA_DIR": tmp_path / "data",
            "HUIQIAN_DATABASE_URL": database.url,
        }
    )
    seed_demo_users(app.extensions["huiqian.engine"], DEMO_PASSWORD)
    yield app
    app.extensions["huiqian.engine"].db.dispose()


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
