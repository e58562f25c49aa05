"""Where the webhooks tables' migrations live: an Alembic branch of their own.

The branch (label ``webhooks``) depends on the engine's ``0005`` (events), so the
engine never has to know about it; the service passes this directory to
``engine.schema.upgrade`` as an extra version location.
"""

from pathlib import Path

VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"
