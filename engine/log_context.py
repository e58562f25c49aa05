"""Fields that every log line written while a piece of work runs should carry.

The job worker binds the job and its instance here, so a failure logged deep
inside a step names the instance it happened to without each ``log.warning``
passing it along.  The service's log formatter (``services.structured_logs``)
adds these fields to each line; the engine itself never formats logs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

_fields: ContextVar[Mapping[str, Any]] = ContextVar(
    "huiqian_log_fields", default=MappingProxyType({})
)


def current() -> dict[str, Any]:
    """The fields bound by the enclosing ``bound`` blocks (innermost wins)."""
    return dict(_fields.get())


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Add ``fields`` (None values are left out) to log lines written inside the block."""
    token = _fields.set({**_fields.get(), **{k: v for k, v in fields.items() if v is not None}})
    try:
        yield
    finally:
        _fields.reset(token)
