"""The officer's inbox: 我的待办 / 部门待办 / 已办 / 抄送我的, with filters and counts."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from flask import render_template, request
from flask.typing import ResponseReturnValue

from engine.inbox import InboxQuery, Tab, TaskState, inbox, is_overdue
from engine.repository import Page
from services.extensions import engine_context
from services.ui.core import principal, ui_bp

PAGE_SIZE = 50
E = TypeVar("E", bound=StrEnum)


def _option(enum: type[E], text: str | None) -> E | None:
    """The member named by a query parameter; None when absent or unknown."""
    try:
        return enum(text) if text else None
    except ValueError:
        return None


@ui_bp.get("/inbox")
def inbox_page() -> ResponseReturnValue:
    wanted = InboxQuery(
        tab=_option(Tab, request.args.get("tab")) or Tab.DEPARTMENT,
        process_key=request.args.get("process") or None,
        state=_option(TaskState, request.args.get("state")),
        page=Page(max(request.args.get("page", 1, type=int), 1), PAGE_SIZE),
    )
    found = inbox(engine_context(), principal(), wanted)
    return render_template(
        "inbox.html",
        inbox=found,
        wanted=wanted,
        tabs=list(Tab),
        states=list(TaskState),
        pages=max(1, -(-found.total // PAGE_SIZE)),
        is_overdue=is_overdue,
    )
