"""代理: an officer names a proxy for a period; meanwhile the proxy sees and acts on their tasks.

The proxy must be an active officer of the same jurisdiction.  What a proxy reaches is
decided in ``engine.approvals.access``; this module keeps the table of proxies.  An
officer names proxies for themselves, an admin for any officer; the absent officer (or
an admin) revokes one.  Several proxies may overlap: each of them may act.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, or_, select

from engine import events
from engine.approvals import people
from engine.context import EngineContext
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.identity import Principal, Role
from engine.models import Proxy, User
from engine.repository import Page, paginate
from engine.unit_of_work import SqlUnitOfWork


def _data(proxy: Proxy) -> dict[str, str | None]:
    return {
        "proxy_id": proxy.id,
        "username": proxy.username,
        "proxy": proxy.proxy,
        "starts_at": proxy.starts_at.isoformat(),
        "ends_at": proxy.ends_at.isoformat(),
    }


def create(
    ctx: EngineContext,
    principal: Principal,
    *,
    proxy: str,
    starts_at: datetime,
    ends_at: datetime,
    user: str | None = None,
    reason: str = "",
) -> Proxy:
    username = user or principal.username
    if principal.role is not Role.OFFICER and not principal.is_admin:
        raise Forbidden("proxies stand in for officers: only officers and admins name them")
    if username != principal.username and not principal.is_admin:
        raise Forbidden("officers name proxies for themselves only")
    if ends_at <= starts_at:
        raise InvalidInput("ends_at must come after starts_at")
    now = ctx.clock()
    if ends_at <= now:
        raise InvalidInput("the period has already ended")
    with SqlUnitOfWork(ctx.db) as uow:
        jurisdiction = uow.session.scalar(
            select(User.jurisdiction).where(User.username == username)
        )
        absent = people.officer(uow.session, username, jurisdiction)
        stand_in = people.officer(uow.session, proxy, absent.jurisdiction)
        if stand_in.username == absent.username:
            raise InvalidInput("an officer cannot be their own proxy")
        row = Proxy(
            username=absent.username,
            proxy=stand_in.username,
            jurisdiction=absent.jurisdiction,
            starts_at=starts_at,
            ends_at=ends_at,
            reason=reason.strip(),
            created_by=principal.username,
            created_at=now,
        )
        uow.session.add(row)
        uow.flush()
        events.record(uow, "proxy.created", _data(row), at=now, jurisdiction=row.jurisdiction)
        uow.audit.record(principal.username, "proxy", details={**_data(row), "reason": row.reason})
        uow.commit()
        return row


def _visible(principal: Principal) -> list[ColumnElement[bool]]:
    """Filters of the proxies a principal may see: all for admins and integrators."""
    if principal.role in (Role.ADMIN, Role.INTEGRATOR):
        return []
    return [or_(Proxy.username == principal.username, Proxy.proxy == principal.username)]


def listing(ctx: EngineContext, principal: Principal, page: Page) -> tuple[list[Proxy], int]:
    """The proxies naming the principal (as absent officer or as proxy), newest first."""
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        query = select(Proxy).where(*_visible(principal))
        return paginate(uow.session, query.order_by(Proxy.starts_at.desc(), Proxy.id), page)


def revoke(ctx: EngineContext, principal: Principal, proxy_id: str) -> Proxy:
    with SqlUnitOfWork(ctx.db) as uow:
        row = uow.session.scalar(select(Proxy).where(Proxy.id == proxy_id, *_visible(principal)))
        if row is None:
            raise NotFound(f"proxy {proxy_id} not found")
        if row.username != principal.username and not principal.is_admin:
            raise Forbidden("only the absent officer or an admin revokes a proxy")
        if row.revoked_at is not None:
            raise Conflict("the proxy is already revoked")
        now = ctx.clock()
        row.revoked_at, row.revoked_by = now, principal.username
        events.record(uow, "proxy.revoked", _data(row), at=now, jurisdiction=row.jurisdiction)
        uow.audit.record(principal.username, "proxy_revoke", details=_data(row))
        uow.commit()
        return row
