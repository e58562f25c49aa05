"""One task: its form, claim/unclaim, and what the officer needs to decide."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from engine import commands
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.human_tasks import form_schema
from engine.inbox import can_act
from engine.instance_overview import instance_opinions
from engine.models import HumanTask
from services.extensions import engine_context
from services.ui import form_fields
from services.ui.core import principal, ui_bp


def _version() -> int | None:
    return request.form.get("version", type=int)


def _schema(task: HumanTask) -> dict[str, Any]:
    return form_schema(task.form, engine_context().forms) or {}


def _render(
    task: HumanTask,
    *,
    values: MultiDict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    schema = _schema(task)
    instance, opinions = instance_opinions(engine_context(), principal(), task.instance_id)
    page = render_template(
        "task.html",
        task=task,
        instance=instance,
        opinions=opinions,
        schema=schema,
        fields=form_fields.fields(schema),
        rules=form_fields.client_rules(schema),
        values=values,
        errors=errors or {},
        user=principal(),
        can_act=can_act(engine_context(), principal(), task),
    )
    return page, status


@ui_bp.get("/tasks/<task_id>")
def task_page(task_id: str) -> ResponseReturnValue:
    return _render(commands.get_task(engine_context(), principal(), task_id))


def _act(task_id: str, action: Callable[..., HumanTask], done: str) -> ResponseReturnValue:
    """Run a claim/unclaim command; a refusal is told on the task page, not as an error page."""
    try:
        action(engine_context(), principal(), task_id, _version())
        flash(done, "success")
    except (Conflict, Forbidden) as error:
        flash(_("操作未完成：%(reason)s", reason=error.detail), "error")
    return redirect(url_for("ui.task_page", task_id=task_id))


@ui_bp.post("/tasks/<task_id>/claim")
def claim(task_id: str) -> ResponseReturnValue:
    return _act(task_id, commands.claim_task, _("已认领此任务。"))


@ui_bp.post("/tasks/<task_id>/unclaim")
def unclaim(task_id: str) -> ResponseReturnValue:
    return _act(task_id, commands.unclaim_task, _("已取消认领。"))


@ui_bp.post("/tasks/<task_id>/complete")
def complete(task_id: str) -> ResponseReturnValue:
    ctx, user = engine_context(), principal()
    task = commands.get_task(ctx, user, task_id)
    schema = _schema(task)
    data = form_fields.form_data(schema, request.form)
    try:
        commands.complete_task(ctx, user, task_id, data, _version())
    except InvalidInput as error:
        found = error.extra.get("errors") or [{"message": error.detail}]
        errors = form_fields.error_messages(schema, found, request.form)
        return _render(task, values=request.form, errors=errors, status=422)
    except (Conflict, Forbidden) as error:
        flash(_("提交未成功：%(reason)s", reason=error.detail), "error")
        return redirect(url_for("ui.task_page", task_id=task_id))
    flash(_("“%(name)s”已提交。", name=task.name), "success")
    return redirect(url_for("ui.inbox_page"))
