"""The REST API under /api/v1: one flask-smorest blueprint per resource."""

from __future__ import annotations

from flask_smorest import Api

from services.api import (
    approvals,
    brands,
    decisions,
    definitions,
    health,
    incidents,
    instance_changes,
    instances,
    jurisdictions,
    messages,
    proxies,
    system,
    tasks,
    webhooks,
)

BLUEPRINTS = (
    system.blp,
    health.blp,
    definitions.blp,
    instances.blp,
    instance_changes.blp,
    tasks.blp,
    approvals.blp,
    proxies.blp,
    jurisdictions.blp,
    decisions.blp,
    messages.blp,
    incidents.blp,
    brands.blp,
    webhooks.blp,
)


def register(api: Api) -> None:
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "POST /api/v1/auth/token"}
    )
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint, url_prefix="/api/v1")
