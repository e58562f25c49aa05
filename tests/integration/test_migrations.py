"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import engine.records  # noqa: F401 - registers its tables on the metadata
from engine import schema
from engine.models import Base


def test_migrated_schema_matches_the_models(database):
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_database_is_at_the_head_revision(database):
    assert schema.current_revision(database) == schema.head_revision()


def test_upgrade_is_idempotent(database):
    schema.upgrade(database)
    assert schema.current_revision(database) == schema.head_revision()
