"""Which definitions and versions exist, for the designer's pages.

Read-only, and no principal is needed: like ``GET /api/v1/definitions``, anyone
signed in may read definitions.  A model holds no citizen's data, and officers
see the diagrams of their instances anyway.
"""

from __future__ import annotations

from engine.context import EngineContext
from engine.errors import NotFound
from engine.models import Definition
from engine.repository import Page
from engine.unit_of_work import SqlUnitOfWork

# Far more versions than a definition collects in practice; the list is one page.
MAX_VERSIONS = 500


def catalogue(ctx: EngineContext) -> list[Definition]:
    """The newest version of every process and decision (without XML), by kind and key."""
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        return uow.definitions.newest_versions()


def versions(ctx: EngineContext, kind: str, key: str) -> list[Definition]:
    """Every version of one definition, newest first; NotFound if it was never deployed."""
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        found, _total = uow.definitions.list(Page(1, MAX_VERSIONS), key=key, kind=kind)
    if not found:
        raise NotFound(f"{kind} definition {key!r} is not deployed")
    return found


def version(ctx: EngineContext, kind: str, key: str, number: int | None = None) -> Definition:
    """One version (``None``: the latest), or NotFound."""
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        found = (
            uow.definitions.version(kind, key, number)
            if number is not None
            else uow.definitions.latest(kind, key)
        )
    if found is None:
        raise NotFound(f"{kind} definition {key!r} has no version {number or 'deployed'}")
    return found
