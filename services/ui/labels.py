"""Words for the engine's codes in the page's language."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

from services.extensions import engine_context
from services.ui.i18n import locale_code

INBOX_TABS = {
    "mine": _l("我的待办"),
    "department": _l("部门待办"),
    "done": _l("已办"),
    "cc": _l("抄送我的"),
}
INBOX_STATES = {"unclaimed": _l("待认领"), "claimed": _l("已认领"), "overdue": _l("已逾期")}
TASK_STATES = {"open": _l("待办"), "completed": _l("已办结"), "cancelled": _l("已取消")}
INSTANCE_STATES = {
    "running": _l("进行中"),
    "completed": _l("已完成"),
    "terminated": _l("已终止"),
    "error": _l("异常"),
}
DECISIONS = {
    "approve": _l("同意"),
    "reject": _l("不同意"),
    "need_info": _l("需补充材料"),
    "return": _l("退回"),
    True: _l("同意"),
    False: _l("不同意"),
}
ACTIONS = {
    "start": _l("发起"),
    "claim": _l("认领"),
    "unclaim": _l("取消认领"),
    "complete": _l("办理"),
    "terminate": _l("终止"),
    "message": _l("收到消息"),
    "timer": _l("定时触发"),
    "service_task": _l("自动办理"),
    "overdue": _l("逾期"),
    "remind": _l("催办"),
    "escalate": _l("督办"),
    "incident_retry": _l("故障重试"),
}


def label(table: dict[Any, Any], code: Any) -> str:
    """The word for ``code``, or the code itself when the table has none."""
    try:
        return str(table[code]) if code in table else str(code)
    except TypeError:  # an unhashable value (a list or dict from a form)
        return str(code)


def department_name(jurisdiction: str | None, code: str | None) -> str:
    if not code:
        return ""
    pack = engine_context().jurisdictions.get(jurisdiction or "")
    for department in pack.departments if pack else ():
        if department.code == code:
            return department.name_en if locale_code() == "en" else department.name
    return code
