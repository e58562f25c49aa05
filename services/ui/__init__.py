"""The web UI: server-rendered pages over the engine's commands, zh-CN first.

``ui_bp`` holds the officer's pages (login, inbox, task, instance).  Pages for
other roles live in blueprints of their own, registered with
``register_ui_blueprint`` so they share the sign-in, CSRF protection, HTML error
pages and the top navigation; their templates extend ``base.html``.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

# account, inbox, instance_page and task_page: importing them attaches their routes to ui_bp.
from services.ui import account, core, csrf, i18n, inbox, instance_page, labels, task_page  # noqa: F401
from services.ui.core import NavItem, public, register_ui_blueprint, ui_bp
from services.ui.workbench import register as register_workbench

__all__ = ["NavItem", "public", "register", "register_ui_blueprint", "ui_bp"]


def register(app: Flask) -> None:
    core.init_app(app)
    i18n.init_app(app)
    csrf.init_app(app)
    app.jinja_env.globals.update(
        label=labels.label,
        labels=labels,
        department_name=labels.department_name,
    )
    register_ui_blueprint(app, ui_bp, nav=[NavItem("ui.inbox_page", _l("待办事项"))])
    register_workbench(app)  # designer, brand library, dashboard, administration
