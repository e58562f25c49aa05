"""Incidents: asynchronous steps that failed after their retries, and retrying them."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine import incidents as engine_incidents
from engine.errors import Conflict
from engine.repository import Page
from services.extensions import engine_context
from services.ui.admin import admin_bp
from services.ui.core import principal

PAGE_SIZE = 50


@admin_bp.get("/incidents")
def incidents() -> ResponseReturnValue:
    show_all = request.args.get("state") == "all"
    page = Page(max(request.args.get("page", 1, type=int), 1), PAGE_SIZE)
    found, total = engine_incidents.list_incidents(
        engine_context(), principal(), page, open_only=not show_all
    )
    return render_template(
        "admin/incidents.html",
        incidents=found,
        show_all=show_all,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
    )


@admin_bp.post("/incidents/<int:incident_id>/retry")
def retry_incident(incident_id: int) -> ResponseReturnValue:
    try:
        engine_incidents.retry_incident(engine_context(), principal(), incident_id)
        flash(_("故障 %(id)s 已重新排程，稍后自动重试。", id=incident_id), "success")
    except Conflict as error:
        flash(_("未能重试：%(reason)s", reason=error.detail), "error")
    return redirect(url_for("admin.incidents"))
