"""The dashboard: open and overdue tasks per department, and how long co-reviews take.

The chart data travels in ``data-chart`` attributes (the CSP allows no inline
script); the same numbers are in a table under each chart for screen readers
and for anyone who would rather read than look.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.dashboard import Bucket, Dashboard, dashboard
from services.extensions import engine_context
from services.ui.core import NavItem, principal
from services.ui.i18n import locale_code
from services.ui.labels import department_name

dashboard_bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
NAV = NavItem("dashboard.index", _l("统计看板"))


def bucket_label(bucket: Bucket) -> str:
    if bucket.high is None:
        return _("%(low)s 天以上", low=bucket.low)
    return _("%(low)s–%(high)s 天", low=bucket.low, high=bucket.high)


def _chart_label(jurisdiction: str | None, code: str) -> str:
    """A department as a chart axis fits it: its shortest Chinese name (市人社局), since the
    full name (宝鸡市人力资源和社会保障局) crowds out the bars on a phone."""
    pack = engine_context().jurisdictions.get(jurisdiction or "")
    department = next((d for d in pack.departments if d.code == code), None) if pack else None
    if department is None or locale_code() == "en":
        return department_name(jurisdiction, code)
    names = (department.name, department.short_name, *department.aliases)
    return min((name for name in names if name), key=len)


def _charts(board: Dashboard) -> dict[str, Any]:
    """What chart.js draws: labels and series, already translated."""
    departments = [_chart_label(d.jurisdiction, d.department) for d in board.departments]
    return {
        "load": {
            "labels": departments,
            "series": [
                {"label": _("未逾期待办"), "data": [d.open - d.overdue for d in board.departments]},
                {"label": _("已逾期"), "data": [d.overdue for d in board.departments]},
            ],
        },
        "lead_times": {
            "labels": [bucket_label(b) for b in board.lead_times.buckets],
            "series": [
                {"label": _("会签实例数"), "data": [b.count for b in board.lead_times.buckets]}
            ],
        },
    }


@dashboard_bp.get("/")
def index() -> ResponseReturnValue:
    board = dashboard(engine_context(), principal())
    return render_template(
        "dashboard/index.html",
        board=board,
        charts=_charts(board),
        open_total=sum(d.open for d in board.departments),
        overdue_total=sum(d.overdue for d in board.departments),
        bucket_label=bucket_label,
    )
