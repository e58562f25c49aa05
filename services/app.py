"""The Flask application factory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask_smorest import Api

from engine import secret_box
from engine.context import EngineContext
from engine.db import Database
from engine.jurisdictions import load_all
from engine.secret_box import SecretBox
from engine.state_store import LiveWorkflows
from services import api as api_routes
from services import config as settings
from services import json_limits, metrics, problems, security_headers, structured_logs, ui
from services.forms import FormLibrary
from services.handlers.registry import default_registry
from webhooks import worker as webhook_worker
from webhooks.settings import WebhookSettings


def jurisdiction_store(data_dir: Path) -> Path:
    """Where ``huiqian jurisdictions load`` puts extra packs of this installation."""
    return data_dir / "jurisdictions"


def build_engine_context(config: dict[str, Any]) -> EngineContext:
    data_dir = Path(config["HUIQIAN_DATA_DIR"])
    library = Path(config["HUIQIAN_LIBRARY_DIR"])
    packs = [library / "jurisdictions", jurisdiction_store(data_dir)]
    registry = default_registry()
    forms = FormLibrary(library / "forms")
    return EngineContext(
        db=Database(config["HUIQIAN_DATABASE_URL"]),
        jurisdictions=load_all([path for path in packs if path.is_dir()]),
        handlers=registry.names(),
        call_handler=registry.call,
        forms=forms.get,
        live_workflows=LiveWorkflows(int(config["HUIQIAN_LIVE_WORKFLOW_MB"] * 1024 * 1024)),
    )


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(settings.load(config))
    secret_box.configure(SecretBox.from_key_text(app.config["HUIQIAN_ENCRYPTION_KEY"]))
    app.extensions["huiqian.engine"] = app.config.get("HUIQIAN_ENGINE") or build_engine_context(
        app.config
    )
    app.extensions["huiqian.webhooks"] = (
        app.config.get("HUIQIAN_WEBHOOK_SETTINGS") or WebhookSettings.from_env()
    )
    structured_logs.register(app)  # first: every later hook's log lines carry the request id
    metrics.register(app)
    api = Api(app)
    api_routes.register(api)
    problems.register(app)
    json_limits.register(app)
    security_headers.register(app)
    ui.register(app)
    return app


def install_job_handlers(app: Flask) -> None:
    """Teach this process's job workers the webhooks' job kinds (fan-out and delivery).

    Called where workers run (``huiqian worker``, ``huiqian demo``), not by
    ``create_app``: a process that only serves the API must leave those jobs to
    the workers.
    """
    webhook_worker.install(app.extensions["huiqian.webhooks"])
