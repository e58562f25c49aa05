"""gunicorn settings of ``huiqian serve`` (``-c python:services.gunicorn_conf``).

* gunicorn's own lines (start, worker boot and exit) are JSON like the app's
  (``services.structured_logs``); its access log stays off, since the app
  writes one ``huiqian.access`` line per request with the request id and user.
* With ``PROMETHEUS_MULTIPROC_DIR`` set (``huiqian serve`` sets it), a worker
  that exits is marked dead, so its gauges stop counting while its counters
  and histograms keep their totals.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import multiprocess

accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"huiqian": {"()": "services.structured_logs.formatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "huiqian",
            "stream": "ext://sys.stderr",
        }
    },
    # The app's own records reach stderr through ``services.wsgi`` (one handler per worker).
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
    },
}


def child_exit(_server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
