"""Admins list and create users.

``identity.create_user`` only checks what any user must satisfy; here the caller
must be an admin, the jurisdiction and department must exist in the loaded packs
(an officer of a department nobody routes tasks to would see an empty inbox
forever), and the creation is audited.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.context import EngineContext
from engine.errors import Forbidden, InvalidInput
from engine.identity import Principal, Role, create_user
from engine.models import User
from engine.repository import Page, paginate
from engine.unit_of_work import SqlUnitOfWork

# Letters, digits and . _ - (the demo's officers are ``<jurisdiction>.<department>``).
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,119}$")


def _require_admin(principal: Principal) -> None:
    if principal.role is not Role.ADMIN:
        raise Forbidden("users are managed by admins")


def list_users(ctx: EngineContext, principal: Principal, page: Page) -> tuple[list[User], int]:
    _require_admin(principal)
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        query = select(User).order_by(User.role, User.jurisdiction, User.username)
        return paginate(uow.session, query, page)


def _check_placement(ctx: EngineContext, jurisdiction: str | None, department: str | None) -> None:
    if department and not jurisdiction:
        raise InvalidInput(
            "a department belongs to a jurisdiction: choose one", field="jurisdiction"
        )
    if not jurisdiction:
        return
    pack = ctx.jurisdictions.get(jurisdiction)
    if pack is None:
        raise InvalidInput(f"unknown jurisdiction {jurisdiction!r}", field="jurisdiction")
    if department and department not in pack.department_codes():
        raise InvalidInput(
            f"jurisdiction {jurisdiction!r} has no department {department!r}", field="department"
        )


def add_user(
    ctx: EngineContext,
    principal: Principal,
    *,
    username: str,
    password: str,
    role: Role,
    jurisdiction: str | None = None,
    department: str | None = None,
    display_name: str = "",
) -> User:
    """Create a user; the password must pass ``identity.check_password_policy``."""
    _require_admin(principal)
    if not USERNAME.match(username):
        raise InvalidInput(
            "a username has 2 to 120 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
            field="username",
        )
    _check_placement(ctx, jurisdiction, department)
    with SqlUnitOfWork(ctx.db) as uow:
        user = create_user(
            uow.session,
            username=username,
            password=password,
            role=role,
            jurisdiction=jurisdiction,
            department=department,
            display_name=display_name,
        )
        uow.audit.record(
            principal.username,
            "user_created",
            details={
                "username": username,
                "role": role.value,
                "jurisdiction": jurisdiction,
                "department": department,
            },
        )
        uow.commit()
        return user
