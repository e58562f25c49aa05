"""What every engine command needs, gathered once at start-up."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.db import Database
from engine.jurisdictions import Jurisdiction
from engine.models import utcnow
from engine.runtime import SpecCache
from engine.sandbox import HuiqianScriptEngine, create_script_engine

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
    _script_engine: HuiqianScriptEngine | None = None

    @property
    def script_engine(self) -> HuiqianScriptEngine:
        if self._script_engine is None:
            self._script_engine = create_script_engine(self.call_handler)
        return self._script_engine
