"""Access to the objects the app factory builds once per app."""

from __future__ import annotations

from flask import current_app

from engine.context import EngineContext


def engine_context() -> EngineContext:
    return current_app.extensions["huiqian.engine"]
