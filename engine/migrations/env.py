"""Alembic environment: the URL comes from the caller (``engine.schema``), never a file."""

from alembic import context

import engine.records  # noqa: F401 - registers the records tables on Base.metadata
from engine.models import Base

config = context.config
connection = config.attributes.get("connection")

if connection is None:
    raise RuntimeError("run migrations through engine.schema.upgrade(), which passes a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
