"""Schema management: Alembic migrations run programmatically against a Database.

The engine's chain lives in ``engine/migrations/versions``.  Packages built on
the engine (webhooks) keep their tables in Alembic branches of their own, in
their own version directories; the caller passes those as
``extra_version_locations``, because the engine must not import them.  With
more than one branch the upgrade target is ``heads``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

VersionLocations = Sequence[str | Path]


def _config(extra_version_locations: VersionLocations = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [MIGRATIONS_DIR / "versions", *extra_version_locations]
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    return config


def upgrade(
    db: Database, revision: str = "heads", extra_version_locations: VersionLocations = ()
) -> None:
    """Bring the database schema up to ``revision`` (idempotent)."""
    config = _config(extra_version_locations)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def head_revisions(extra_version_locations: VersionLocations = ()) -> tuple[str, ...]:
    """The head of every branch, sorted."""
    return tuple(sorted(ScriptDirectory.from_config(_config(extra_version_locations)).get_heads()))


def head_revision(extra_version_locations: VersionLocations = ()) -> str:
    """The heads as one line, e.g. ``0006 w0001``, for messages."""
    return " ".join(head_revisions(extra_version_locations))


def current_revisions(db: Database) -> tuple[str, ...]:
    """The revision of every branch the database is at, sorted."""
    with db.engine.connect() as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def current_revision(db: Database) -> str:
    return " ".join(current_revisions(db))


def autogenerate(
    db: Database,
    message: str,
    extra_version_locations: VersionLocations = (),
    head: str = "head",
) -> None:
    """Write a new revision from the difference between the models and ``db``.

    With extra branches, ``head`` names the branch to extend (e.g. ``webhooks@head``
    or the engine's head revision); the models of every branch must be imported.
    """
    config = _config(extra_version_locations)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True, head=head)


def downgrade(db: Database, revision: str, extra_version_locations: VersionLocations = ()) -> None:
    """Step the schema back to ``revision`` (for tests of data migrations and for rollbacks)."""
    config = _config(extra_version_locations)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
