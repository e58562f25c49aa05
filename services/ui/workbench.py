"""The pages beyond the officer's desk: designer, brand library, dashboard, administration.

Each area is a blueprint of its own, registered through ``register_ui_blueprint``
so it shares sign-in, CSRF, error pages and the navigation with the officer pages.
"""

from __future__ import annotations

from flask import Flask

from services.extensions import engine_context
from services.ui import admin, brand_library, dashboard, designer
from services.ui.core import register_ui_blueprint
from services.ui.i18n import locale_code


def jurisdiction_name(code: str | None) -> str:
    """A jurisdiction's name in the page's language, or its code when no pack has it."""
    pack = engine_context().jurisdictions.get(code or "")
    if pack is None:
        return code or ""
    return (pack.name_en or pack.name) if locale_code() == "en" else pack.name


def register(app: Flask) -> None:
    app.jinja_env.globals.update(jurisdiction_name=jurisdiction_name)
    register_ui_blueprint(app, designer.designer_bp, nav=[designer.NAV], roles=designer.ROLES)
    register_ui_blueprint(app, brand_library.brands_bp, nav=[brand_library.NAV])
    register_ui_blueprint(app, dashboard.dashboard_bp, nav=[dashboard.NAV])
    register_ui_blueprint(app, admin.admin_bp, nav=[admin.NAV], roles=admin.ROLES)
