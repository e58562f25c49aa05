"""Service configuration: defaults, overridden by ``HUIQIAN_*`` environment variables.

| variable | meaning | default |
|---|---|---|
| HUIQIAN_DATABASE_URL | SQLAlchemy URL | SQLite file in the data directory |
| HUIQIAN_DATA_DIR | SQLite file, extra jurisdiction packs, secret key | ./instance |
| HUIQIAN_SECRET_KEY | session-cookie signing key | generated once into the data directory |
| HUIQIAN_ENCRYPTION_KEY | seals stored credentials (base64url, 32 bytes) | generated, data dir |
| HUIQIAN_TOKEN_TTL_SECONDS | bearer-token lifetime | 28800 (8 h) |
| HUIQIAN_LIVE_WORKFLOW_MB | memory for live workflows between steps, per process; 0: off | 16 |
| HUIQIAN_JURISDICTIONS_DIR | extra jurisdiction packs (os.pathsep-separated) | none |
| HUIQIAN_DEMO_PASSWORD | password of the demo users | huiqian-demo |
| HUIQIAN_LIBRARY_DIR | the process library (BPMN, DMN, forms) | bpmn/ of the source tree |
| HUIQIAN_ARGON2_TIME_COST, HUIQIAN_ARGON2_MEMORY_KIB | password-hash cost | argon2-cffi defaults |
| HUIQIAN_METRICS_TOKEN | bearer token of GET /metrics (services/metrics.py) | none: admins only |
| HUIQIAN_LOG_FORMAT, HUIQIAN_LOG_LEVEL | json or text logs; level (structured_logs) | json, INFO |
| HUIQIAN_JOB_RETENTION_DAYS | days done jobs are kept before workers prune them; 0 keeps them | 7 |
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.secret_box import new_key_text

REPO_ROOT = Path(__file__).resolve().parent.parent
LIBRARY_DIR = REPO_ROOT / "bpmn"


def sqlite_url(data_dir: Path) -> str:
    """The default database: a SQLite file in the data directory."""
    return f"sqlite:///{(data_dir / 'huiqian.sqlite3').resolve()}"


def _installation_key(data_dir: Path, name: str, new: Callable[[], str]) -> str:
    """A stable per-installation key, so restarts need no configuration (file mode 0600)."""
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(new())
        path.chmod(0o600)
    return path.read_text().strip()


def load(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    overrides = overrides or {}
    data_dir = Path(
        overrides.get("HUIQIAN_DATA_DIR") or os.environ.get("HUIQIAN_DATA_DIR", "instance")
    )
    config: dict[str, Any] = {
        "HUIQIAN_DATA_DIR": data_dir,
        "HUIQIAN_DATABASE_URL": os.environ.get("HUIQIAN_DATABASE_URL") or sqlite_url(data_dir),
        "HUIQIAN_TOKEN_TTL_SECONDS": int(os.environ.get("HUIQIAN_TOKEN_TTL_SECONDS", 8 * 3600)),
        "HUIQIAN_JOB_RETENTION_DAYS": float(os.environ.get("HUIQIAN_JOB_RETENTION_DAYS") or 7),
        "HUIQIAN_LIVE_WORKFLOW_MB": float(os.environ.get("HUIQIAN_LIVE_WORKFLOW_MB", 16)),
        "HUIQIAN_LIBRARY_DIR": Path(os.environ.get("HUIQIAN_LIBRARY_DIR") or LIBRARY_DIR),
        "API_TITLE": "Huiqian API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.1.0",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "api/v1/openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "api/docs",
        "OPENAPI_SWAGGER_UI_URL": "/static/vendor/swagger-ui/",
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "JSON_SORT_KEYS": False,
    }
    config.update(overrides)
    data_dir = Path(config["HUIQIAN_DATA_DIR"])
    config.setdefault(
        "SECRET_KEY",
        os.environ.get("HUIQIAN_SECRET_KEY")
        or _installation_key(data_dir, "secret_key", lambda: secrets.token_urlsafe(48)),
    )
    config.setdefault(
        "HUIQIAN_ENCRYPTION_KEY",
        os.environ.get("HUIQIAN_ENCRYPTION_KEY")
        or _installation_key(data_dir, "encryption_key", new_key_text),
    )
    return config
