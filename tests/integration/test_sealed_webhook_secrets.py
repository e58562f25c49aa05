"""Webhook signing secrets are stored sealed; the service still reads them in clear."""

import pytest
from sqlalchemy import text

from engine import schema, secret_box
from engine.db import Database
from engine.identity import SYSTEM
from services.migrations import VERSION_LOCATIONS
from tests.webhooks_helpers import settings
from webhooks import subscriptions
from webhooks.models import Subscription


def _stored(db: Database, subscription_id: str) -> tuple[str, str | None]:
    with db.engine.connect() as connection:
        row = connection.execute(
            text("SELECT secret, previous_secret FROM webhook_subscriptions WHERE id = :id"),
            {"id": subscription_id},
        ).one()
    return row.secret, row.previous_secret


def test_secrets_are_sealed_in_the_database_and_clear_in_code(app):
    ctx = app.extensions["huiqian.engine"]
    local = settings()
    created = subscriptions.create(
        ctx, local, SYSTEM, url="http://127.0.0.1:9/hooks", event_types=["task.created"]
    )
    rotated = subscriptions.rotate_secret(ctx, local, SYSTEM, created.subscription.id)

    stored_secret, stored_previous = _stored(ctx.db, created.subscription.id)
    assert stored_secret.startswith(secret_box.PREFIX)
    assert stored_previous is not None and stored_previous.startswith(secret_box.PREFIX)
    assert "whsec_" not in stored_secret + stored_previous
    with ctx.db.read_session() as s:
        subscription = s.get(Subscription, created.subscription.id)
        assert subscription.secret == rotated.secret
        assert subscription.previous_secret == created.secret


@pytest.fixture(params=["sqlite", "postgresql"])
def private_database(request, tmp_path):
    """A migrated database of this test's own: the test steps its schema back and forth."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'own.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    db = Database(url)
    schema.upgrade(db, "heads", VERSION_LOCATIONS)
    yield db
    db.dispose()


def test_the_migration_seals_secrets_stored_in_clear(private_database):
    db = private_database
    schema.downgrade(db, "w0001", VERSION_LOCATIONS)
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO webhook_subscriptions (id, url, event_types, enabled, secret,"
                " created_by, created_at, updated_at, version)"
                " VALUES ('s1', 'https://hooks.example.org', '[]', true, 'whsec_old', 'x',"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
            )
        )
    schema.upgrade(db, "heads", VERSION_LOCATIONS)
    stored, _ = _stored(db, "s1")
    assert stored.startswith(secret_box.PREFIX)
    assert secret_box.current().open(stored) == "whsec_old"
