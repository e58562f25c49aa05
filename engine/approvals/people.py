"""Who can receive a task, a copy or a proxy: officers and departments of one jurisdiction.

Transfers, delegations, copies and proxies stay inside the jurisdiction of the task (or of
the absent officer): a department exists only inside its jurisdiction's roster.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.context import EngineContext
from engine.errors import InvalidInput
from engine.identity import Role
from engine.models import User


def officer(session: Session, username: str, jurisdiction: str | None) -> User:
    """The active officer ``username`` of ``jurisdiction``, or a 422 naming them."""
    user = session.scalar(select(User).where(User.username == username))
    if (
        user is None
        or not user.active
        or user.role != Role.OFFICER.value
        or user.jurisdiction != jurisdiction
        or not user.department
    ):
        raise InvalidInput(f"{username} is not an active officer of {jurisdiction}")
    return user


def departments(ctx: EngineContext, jurisdiction: str | None, codes: Iterable[str]) -> list[str]:
    """``codes`` without repeats, each a department of ``jurisdiction``'s roster, or a 422."""
    pack = ctx.jurisdictions.get(jurisdiction) if jurisdiction else None
    if pack is None:
        raise InvalidInput(
            "the task belongs to no jurisdiction, so it has no roster to route within"
        )
    wanted = list(dict.fromkeys(codes))
    unknown = [code for code in wanted if code not in pack.department_codes()]
    if unknown:
        raise InvalidInput(f"not departments of {jurisdiction}: {', '.join(unknown)}")
    return wanted
