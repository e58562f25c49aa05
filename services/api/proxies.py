"""代理: proxies who act on an absent officer's tasks for a period."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from engine.approvals import proxies
from engine.repository import Page
from services.approval_schemas import ProxyInputSchema, ProxySchema
from services.auth import current_principal, require_login
from services.extensions import engine_context

blp = Blueprint("proxies", __name__, description="Out-of-office proxies (代理)")
blp.before_request(require_login)
SECURITY = [{"bearer": []}]


@blp.route("/proxies")
class Proxies(MethodView):
    @blp.response(200, ProxySchema(many=True))
    @blp.paginate()
    @blp.doc(security=SECURITY)
    def get(self, pagination_parameters: Any) -> Any:
        """Proxies naming me, as the absent officer or as the proxy (admins: all)."""
        page = Page(pagination_parameters.page, pagination_parameters.page_size)
        items, total = proxies.listing(engine_context(), current_principal(), page)
        pagination_parameters.item_count = total
        return items

    @blp.arguments(ProxyInputSchema)
    @blp.response(201, ProxySchema)
    @blp.doc(security=SECURITY)
    def post(self, body: dict[str, Any]) -> Any:
        """Name a proxy for a period: they see and act on your tasks meanwhile."""
        return proxies.create(engine_context(), current_principal(), **body)


@blp.route("/proxies/<proxy_id>")
class ProxyById(MethodView):
    @blp.response(204)
    @blp.doc(security=SECURITY)
    def delete(self, proxy_id: str) -> None:
        """Revoke a proxy (the absent officer or an admin)."""
        proxies.revoke(engine_context(), current_principal(), proxy_id)
