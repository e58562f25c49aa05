"""The Alembic migrations build exactly the schema the models describe, on both databases.

The service's schema is the engine's chain plus the webhooks branch
(``services.migrations``), so the models compared are both packages' tables.
"""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import engine.records  # noqa: F401 - registers its tables on the metadata
import webhooks.models  # noqa: F401 - registers its tables on the metadata
from engine import schema
from engine.models import Base
from services import migrations


def test_migrated_schema_matches_the_models(database):
    with database.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_database_is_at_the_head_of_every_branch(database):
    assert schema.current_revisions(database) == migrations.head_revisions()
    assert len(schema.current_revisions(database)) == 2  # the engine chain and webhooks


def test_upgrade_is_idempotent(database):
    migrations.upgrade(database)
    assert schema.current_revisions(database) == migrations.head_revisions()
