"""The brand resource library (劳务品牌资源库): brands and their history, read-only.

Brands are written by processes (the ``hrss.brand_*`` service-task handlers), never
through this API, so every change has an instance and an actor in the history.
"""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine.repository import Page
from services import brands
from services.auth import current_principal, require_login
from services.extensions import engine_context
from services.schemas import BrandDetailSchema, BrandQuerySchema, BrandSchema

blp = Blueprint("brands", __name__, description="Brand resource library (劳务品牌资源库)")
blp.before_request(require_login)


@blp.route("/brands")
class Brands(MethodView):
    @blp.arguments(BrandQuerySchema, location="query")
    @blp.response(200, BrandSchema(many=True))
    @blp.paginate()
    @blp.doc(security=[{"bearer": []}])
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> Any:
        """Brands by name; officers see their own jurisdiction's library only."""
        page = Page(pagination_parameters.page, pagination_parameters.page_size)
        items, total = brands.list_brands(engine_context().db, current_principal(), page, **query)
        pagination_parameters.item_count = total
        return items


@blp.route("/brands/<brand_id>")
class BrandById(MethodView):
    @blp.response(200, BrandDetailSchema)
    @blp.doc(security=[{"bearer": []}])
    def get(self, brand_id: str) -> Any:
        """A brand with its full history, oldest first."""
        return brands.get_brand(engine_context().db, current_principal(), brand_id)
