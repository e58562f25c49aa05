"""What every engine command needs, gathered once at start-up."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine import clock
from engine.business_calendar import WEEKENDS_ONLY, BusinessCalendar
from engine.db import Database
from engine.jurisdictions import Jurisdiction
from engine.models import utcnow
from engine.runtime import SpecCache
from engine.sandbox import HuiqianScriptEngine, create_script_engine
from engine.state_store import LiveWorkflows

ServiceCaller = Callable[[str, dict[str, Any], dict[str, Any]], Any]


@dataclass
class EngineContext:
    """The engine's collaborators.

    ``handlers``/``call_handler`` come from the service layer (department task
    handlers); ``forms`` looks up a form's JSON schema by key; ``clock`` is
    injectable so that tests control time.
    """

    db: Database
    jurisdictions: Mapping[str, Jurisdiction] = field(default_factory=dict)
    handlers: Collection[str] = frozenset()
    call_handler: ServiceCaller | None = None
    forms: Callable[[str], dict[str, Any] | None] = lambda _key: None
    clock: Callable[[], datetime] = utcnow
    spec_cache: SpecCache = field(default_factory=SpecCache)
    live_workflows: LiveWorkflows = field(default_factory=LiveWorkflows)
    _script_engine: HuiqianScriptEngine | None = None

    @property
    def script_engine(self) -> HuiqianScriptEngine:
        if self._script_engine is None:
            helpers = {"working_days_after": self._working_days_after}
            self._script_engine = create_script_engine(self.call_handler, helpers=helpers)
        return self._script_engine

    def calendar(self, jurisdiction_id: str | None) -> BusinessCalendar:
        jurisdiction = self.jurisdictions.get(jurisdiction_id) if jurisdiction_id else None
        if jurisdiction is None:
            return WEEKENDS_ONLY
        return BusinessCalendar(jurisdiction.holidays, jurisdiction.workdays)

    def _working_days_after(self, days: int, jurisdiction: str | None = None) -> str:
        """For timer expressions: the ISO time ``days`` working days from now (the step's clock)."""
        return self.calendar(jurisdiction).add_working_days(clock.now(), int(days)).isoformat()
