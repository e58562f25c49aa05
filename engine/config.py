"""Engine settings, read from ``HUIQIAN_*`` environment variables.

All configuration is by environment so that the same image runs the demo, the
test suite and a production deployment; ``docs/architecture.md`` lists the
variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_DATA_DIR = Path("instance")


def sqlite_url(data_dir: Path) -> str:
    """The default database: a SQLite file in the data directory."""
    return f"sqlite:///{(data_dir / 'huiqian.sqlite3').resolve()}"


@dataclass(frozen=True)
class EngineSettings:
    database_url: str
    token_ttl_seconds: int = 8 * 3600
    max_definition_bytes: int = 5 * 1024 * 1024
    jurisdiction_dirs: tuple[Path, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, data_dir: Path | None = None) -> EngineSettings:
        data_dir = data_dir or Path(os.environ.get("HUIQIAN_DATA_DIR", DEFAULT_DATA_DIR))
        url = os.environ.get("HUIQIAN_DATABASE_URL") or sqlite_url(data_dir)
        ttl = int(os.environ.get("HUIQIAN_TOKEN_TTL_SECONDS", 8 * 3600))
        return cls(database_url=url, token_ttl_seconds=ttl)
