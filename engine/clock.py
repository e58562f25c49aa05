"""The engine's notion of "now", injectable so tests never sleep for real time.

SpiffWorkflow's timer events read ``datetime.now(timezone.utc)`` from the
module ``SpiffWorkflow.bpmn.specs.event_definitions.timer``; they cannot be
given a clock.  ``install()`` replaces that module's ``datetime`` name with a
subclass whose ``now()`` answers from the clock of the running step (or the
real clock outside one).  ``tests/unit/test_clock.py`` pins the library
behaviour this relies on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


_clock: ContextVar[Clock] = ContextVar("huiqian_clock", default=system_clock)


def now() -> datetime:
    """The current time of the running step (the system clock outside one)."""
    return _clock.get()()


class _StepDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        current = now()
        return current.astimezone(tz) if tz else current.replace(tzinfo=None)


@contextmanager
def using(clock: Clock) -> Iterator[None]:
    """Run the enclosed workflow step with ``clock`` as SpiffWorkflow's "now"."""
    token = _clock.set(clock)
    try:
        yield
    finally:
        _clock.reset(token)


def install() -> None:
    spiff_timer.datetime = _StepDatetime  # type: ignore[misc]


class FakeClock:
    """A settable clock for tests and simulations."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current = self.current + timedelta(**delta)
        return self.current


install()
