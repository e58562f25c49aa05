"""The REST API under /api/v1: one flask-smorest blueprint per resource."""

from __future__ import annotations

from flask_smorest import Api

from services.api import (
    brands,
    decisions,
    definitions,
    incidents,
    instances,
    jurisdictions,
    messages,
    system,
    tasks,
    webhooks,
)

BLUEPRINTS = (
    system.blp,
    definitions.blp,
    instances.blp,
    tasks.blp,
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
