"""Demo installation: schema, process library and one user per role and department."""

from __future__ import annotations

import os
from collections.abc import Iterator

from sqlalchemy import select

from engine.context import EngineContext
from engine.identity import Role, create_user, hash_password
from engine.models import User

DEFAULT_DEMO_PASSWORD = "huiqian-demo"


def demo_password() -> str:
    return os.environ.get("HUIQIAN_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


def demo_users(ctx: EngineContext) -> Iterator[dict[str, str | None]]:
    """admin, designer, integrator, and ``<jurisdiction>.<department>`` for every officer."""
    for role in (Role.ADMIN, Role.DESIGNER, Role.INTEGRATOR):
        yield {"username": role.value, "role": role.value, "jurisdiction": None, "department": None}
    for jurisdiction in ctx.jurisdictions.values():
        for department in jurisdiction.departments:
            yield {
                "username": f"{jurisdiction.id}.{department.code}",
                "role": Role.OFFICER.value,
                "jurisdiction": jurisdiction.id,
                "department": department.code,
                "display_name": department.name,
            }


def seed_demo_users(ctx: EngineContext, password: str) -> int:
    """Create the demo users that do not exist yet; returns how many were created."""
    created = 0
    # One hash for all: they share the password anyway, and Argon2 is slow by design.
    password_hash = hash_password(password)
    with ctx.db.write_session() as s:
        existing = set(s.scalars(select(User.username)))
        for spec in demo_users(ctx):
            if spec["username"] in existing:
                continue
            create_user(
                s,
                username=str(spec["username"]),
                password_hash=password_hash,
                role=Role(spec["role"]),
                jurisdiction=spec["jurisdiction"],
                department=spec["department"],
                display_name=spec.get("display_name") or "",
            )
            created += 1
        s.commit()
    return created
