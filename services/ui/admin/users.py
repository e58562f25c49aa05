"""Users (create with role, jurisdiction and department) and the departments of the packs."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine import user_admin
from engine.errors import Conflict, InvalidInput
from engine.identity import Role
from engine.repository import Page
from services.extensions import engine_context
from services.ui.admin import admin_bp
from services.ui.core import principal

PAGE_SIZE = 100
ROLE_NAMES = {
    Role.OFFICER.value: _l("科员"),
    Role.DESIGNER.value: _l("流程设计员"),
    Role.ADMIN.value: _l("管理员"),
    Role.INTEGRATOR.value: _l("集成系统"),
}
FIELDS = ("username", "display_name", "role", "jurisdiction", "department")


def _render(
    values: dict[str, str], error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    page = Page(max(request.args.get("page", 1, type=int), 1), PAGE_SIZE)
    found, total = user_admin.list_users(engine_context(), principal(), page)
    page_html = render_template(
        "admin/users.html",
        users=found,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
        roles=ROLE_NAMES,
        jurisdictions=engine_context().jurisdictions,
        values=values,
        error=error,
    )
    return page_html, status


@admin_bp.get("/users")
def users() -> ResponseReturnValue:
    return _render({"role": Role.OFFICER.value})


@admin_bp.post("/users")
def create_user() -> ResponseReturnValue:
    values = {name: request.form.get(name, "").strip() for name in FIELDS}
    if values["role"] not in ROLE_NAMES:
        return _render(values, _("请选择角色。"), 422)
    try:
        user = user_admin.add_user(
            engine_context(),
            principal(),
            username=values["username"],
            password=request.form.get("password", ""),
            role=Role(values["role"]),
            jurisdiction=values["jurisdiction"] or None,
            department=values["department"] or None,
            display_name=values["display_name"],
        )
    except (InvalidInput, Conflict) as error:
        return _render(values, error.detail, error.status)
    flash(_("已创建用户 %(username)s。", username=user.username), "success")
    return redirect(url_for("admin.users"))


@admin_bp.get("/departments")
def departments() -> ResponseReturnValue:
    return render_template("admin/departments.html", jurisdictions=engine_context().jurisdictions)
