"""What the engine step that is running right now is about.

Department handlers run inside a workflow step (a service task) and sometimes
must write to the database, such as adding a brand to the library.  Doing it
in the step's own transaction means the write and the workflow's progress
commit or roll back together.  Handlers get that session here instead of
opening one of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from uuid import UUID

from sqlalchemy.orm import Session

_session: ContextVar[Session | None] = ContextVar("huiqian_step_session", default=None)


@contextmanager
def step_session(session: Session) -> Iterator[None]:
    token = _session.set(session)
    try:
        yield
    finally:
        _session.reset(token)


def current_session() -> Session:
    """The session of the running step; only valid while a workflow step runs."""
    session = _session.get()
    if session is None:
        raise RuntimeError("no workflow step is running: handlers get a session only inside one")
    return session


_service_task: ContextVar[UUID | None] = ContextVar("huiqian_service_task", default=None)


@contextmanager
def service_task_run(task_id: UUID) -> Iterator[None]:
    """Within this block the asynchronous service task ``task_id`` really runs its handler."""
    token = _service_task.set(task_id)
    try:
        yield
    finally:
        _service_task.reset(token)


def running_service_task() -> UUID | None:
    return _service_task.get()
