"""Administration pages: users, departments, webhook subscriptions, incidents.

One blueprint for admins and integrators; each section names the roles that may
open it (integrators manage webhooks only), and the engine functions behind the
pages check the same rules again.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from engine.identity import Role
from services.ui.core import NavItem, principal

admin_bp = Blueprint("admin", __name__, url_prefix="/admin")
ROLES = (Role.ADMIN, Role.INTEGRATOR)
NAV = NavItem("admin.index", _l("系统管理"), frozenset(ROLES))


@dataclass(frozen=True)
class Section:
    endpoint: str
    label: object  # a lazy_gettext string
    roles: frozenset[Role]


SECTIONS = (
    Section("admin.users", _l("用户"), frozenset({Role.ADMIN})),
    Section("admin.departments", _l("部门"), frozenset(ROLES)),
    Section("admin.webhooks", _l("Webhook 订阅"), frozenset(ROLES)),
    Section("admin.incidents", _l("故障"), frozenset({Role.ADMIN})),
)


def sections() -> list[Section]:
    """The sections the signed-in user may open, for the tabs of every admin page."""
    role = principal().role
    return [section for section in SECTIONS if role in section.roles]


@admin_bp.context_processor
def _sections() -> dict[str, object]:
    return {"admin_sections": sections}


@admin_bp.get("/")
def index() -> ResponseReturnValue:
    return redirect(url_for(sections()[0].endpoint))


# Importing the view modules attaches their routes to admin_bp.
from services.ui.admin import incidents, users, webhooks  # noqa: E402, F401
