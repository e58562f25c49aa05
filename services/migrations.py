"""The service's schema: the engine's migration chain plus the webhooks branch.

The engine cannot import ``webhooks``, so the service names the extra version
locations here, once, for the CLI (``huiqian db upgrade``, ``huiqian demo``) and
the tests alike.
"""

from __future__ import annotations

import webhooks.models  # noqa: F401 - registers the webhooks tables on Base.metadata
from engine import schema
from engine.db import Database
from webhooks.schema import VERSIONS_DIR as WEBHOOKS_VERSIONS

VERSION_LOCATIONS = (WEBHOOKS_VERSIONS,)


def upgrade(db: Database) -> None:
    """Apply every pending migration of every branch (idempotent)."""
    schema.upgrade(db, "heads", VERSION_LOCATIONS)


def head_revisions() -> tuple[str, ...]:
    return schema.head_revisions(VERSION_LOCATIONS)
