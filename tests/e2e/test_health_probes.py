"""Liveness and readiness: live while the process serves, ready only on a reachable, migrated db."""

from __future__ import annotations

from sqlalchemy import text

from services import migrations
from tests.api_helpers import dispose, make_app, ok, problem


def test_live_answers_ok_without_login(client):
    assert ok(client.get("/api/v1/health/live")) == {"status": "ok"}


def test_ready_when_the_schema_is_at_every_head(client):
    body = ok(client.get("/api/v1/health/ready"))
    assert body == {
        "status": "ready",
        "database": "ok",
        "schema": list(migrations.head_revisions()),
    }
    assert len(body["schema"]) >= 2, "the webhooks branch counts too"


def test_the_old_health_contract_is_kept(client):
    assert ok(client.get("/api/v1/health")) == {"status": "ok", "database": "ok"}


def _set_version(database, old: str, new: str) -> None:
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE alembic_version SET version_num = :new WHERE version_num = :old"),
            {"old": old, "new": new},
        )


def test_not_ready_while_the_schema_is_behind(app, client, database):
    heads = migrations.head_revisions()
    _set_version(database, min(heads), "0005")
    try:
        body = problem(client.get("/api/v1/health/ready"), 503, "not-ready")
        assert "huiqian db upgrade" in body["detail"]
        assert body["expected"] == list(heads) and "0005" in body["schema"]
        assert ok(client.get("/api/v1/health/live")) == {"status": "ok"}
    finally:
        # The PostgreSQL schema is shared by the tests of this process: put it back.
        _set_version(database, "0005", min(heads))


def test_not_ready_but_live_when_the_database_does_not_answer(tmp_path):
    app = make_app("postgresql+psycopg://nobody@127.0.0.1:1/none", tmp_path / "data")
    client = app.test_client()
    try:
        body = problem(client.get("/api/v1/health/ready"), 503, "not-ready")
        assert body["database"] == "error"
        assert ok(client.get("/api/v1/health/live")) == {"status": "ok"}
    finally:
        dispose(app)
