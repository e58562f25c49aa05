"""Registry of service-task handlers, named ``<department code>.<action>``.

The engine must not import ``services/``, so it is handed two things built from here:
``registry.call`` as its ``service_caller`` and ``registry.names()`` to refuse a deployment
that names an unknown handler.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from engine.errors import HuiqianError, NotFound

HANDLER_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class HandlerCall:
    """One invocation: the handler's own name, its evaluated parameters and the task data."""

    name: str
    params: Mapping[str, Any]
    data: Mapping[str, Any]

    def text(self, key: str) -> str:
        """The required, non-blank string parameter ``key``, stripped."""
        value = self.params.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"parameter {key!r} must be a non-empty string")
        return value.strip()

    def texts(self, key: str) -> tuple[str, ...]:
        """The optional list-of-strings parameter ``key`` (empty when absent)."""
        value = self.params.get(key)
        if value is None:
            return ()
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"parameter {key!r} must be a list of strings")
        return tuple(value)


Handler = Callable[[HandlerCall], dict[str, Any]]


class HandlerFailed(HuiqianError):
    """A handler raised or returned something unusable; the engine records an incident."""

    type_slug = "handler-failed"
    status = 502
    title = "Service task handler failed"

    def __init__(self, handler: str, message: str) -> None:
        super().__init__(f"handler {handler} failed: {message}", handler=handler, message=message)
        self.handler = handler
        self.message = message


class HandlerRegistry:
    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator registering a handler under ``name``; a malformed or taken name is refused."""
        if not HANDLER_NAME.fullmatch(name):
            raise ValueError(f"handler name {name!r} is not '<department>.<action>'")

        def add(handler: Handler) -> Handler:
            if name in self._handlers:
                raise ValueError(f"handler {name!r} is already registered")
            self._handlers[name] = handler
            return handler

        return add

    def names(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def department_of(self, name: str) -> str:
        """The department owning a registered handler: ``samr`` for ``samr.trademark_check``."""
        if name not in self._handlers:
            raise NotFound(f"unknown service task handler {name!r}", handler=name)
        return name.split(".", 1)[0]

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def call(self, name: str, params: Mapping[str, Any], data: Mapping[str, Any]) -> dict[str, Any]:
        """Run handler ``name``; this is the engine's ``service_caller``.

        Handlers see read-only views of ``params`` and ``data``.  Any failure, including a
        result that cannot be stored as task data (not a JSON object), is a ``HandlerFailed``.
        """
        handler = self._handlers.get(name)
        if handler is None:
            raise NotFound(f"unknown service task handler {name!r}", handler=name)
        call = HandlerCall(name, MappingProxyType(dict(params)), MappingProxyType(dict(data)))
        try:
            result = handler(call)
        except HandlerFailed:
            raise
        except Exception as exc:
            raise HandlerFailed(name, str(exc) or type(exc).__name__) from exc
        _require_json_object(name, result)
        return result


def _require_json_object(name: str, result: object) -> None:
    if not isinstance(result, dict):
        raise HandlerFailed(name, f"returned {type(result).__name__}, expected a dict")
    try:
        json.dumps(result, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise HandlerFailed(name, f"result is not JSON-serialisable: {exc}") from exc


def default_registry() -> HandlerRegistry:
    """A fresh registry holding every built-in department handler."""
    # Imported here because the handler modules import this module for HandlerRegistry.
    from services.handlers import fin, hrss, samr, supervision

    registry = HandlerRegistry()
    for register in (hrss.register, samr.register, fin.register, supervision.register):
        register(registry)
    return registry
