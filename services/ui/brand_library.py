"""The brand resource library (劳务品牌资源库): brands, status, history and processes."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l

from engine.identity import Role
from engine.repository import Page
from services import brands
from services.extensions import engine_context
from services.ui.core import NavItem, principal

brands_bp = Blueprint("library", __name__, url_prefix="/brands")
NAV = NavItem("library.index", _l("品牌资源库"))
PAGE_SIZE = 50

STATUSES = {
    brands.NOMINATED: _l("已推荐"),
    brands.NOT_ADMITTED: _l("未予纳入"),
    brands.IN_LIBRARY: _l("在库"),
    brands.RECTIFYING: _l("整改中"),
    brands.EXIT_PROPOSED: _l("拟退出"),
    brands.EXITED: _l("已退出"),
}
# History actions: the creation, then the hrss.brand_<action> handlers' actions.
ACTIONS = {
    "nominated": _l("推荐入库"),
    "added": _l("纳入资源库"),
    "not_admitted": _l("未予纳入资源库"),
    "rectifying": _l("责令整改"),
    "exit_proposed": _l("提出退出建议"),
    "exited": _l("退出资源库"),
}


@brands_bp.get("/")
def index() -> ResponseReturnValue:
    user = principal()
    wanted_status = request.args.get("status") or None
    status = wanted_status if wanted_status in STATUSES else None
    jurisdiction = None if user.role is Role.OFFICER else request.args.get("jurisdiction") or None
    page = Page(max(request.args.get("page", 1, type=int), 1), PAGE_SIZE)
    found, total = brands.list_brands(
        engine_context().db, user, page, jurisdiction=jurisdiction, status=status
    )
    return render_template(
        "brands/index.html",
        brands=found,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        status=status,
        jurisdiction=jurisdiction,
        jurisdictions=engine_context().jurisdictions,
        show_jurisdiction_filter=user.role is not Role.OFFICER,
        statuses=STATUSES,
    )


@brands_bp.get("/<brand_id>")
def brand(brand_id: str) -> ResponseReturnValue:
    ctx, user = engine_context(), principal()
    detail = brands.get_brand(ctx.db, user, brand_id)
    return render_template(
        "brands/brand.html",
        brand=detail,
        processes=brands.processes(ctx.db, user, detail),
        jurisdictions=ctx.jurisdictions,
        statuses=STATUSES,
        actions=ACTIONS,
    )
