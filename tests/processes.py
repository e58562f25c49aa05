"""Real service processes for integration tests: gunicorn API servers and job workers.

Each runs in a process group of its own, so one ``killpg`` takes a gunicorn
master with its workers.  Waiting for readiness is bounded polling of the real
process, never an assertion on time.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from tests.conftest import DEMO_PASSWORD

REPO = Path(__file__).parents[1]
# Guards against a hung run only; no assertion depends on time.
GUARD_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn(port: int) -> list[str]:
    """gunicorn with two workers, straight on the WSGI app."""
    return [sys.executable, "-m", "gunicorn", "-w", "2", "--bind", f"127.0.0.1:{port}"] + [
        "services.wsgi:app"
    ]


def huiqian_serve(port: int) -> list[str]:
    """``huiqian serve`` (gunicorn with the service's config: JSON logs, multiprocess metrics)."""
    return [sys.executable, "-m", "services.cli", "serve", "--port", str(port), "--workers", "2"]


def environment(url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "HUIQIAN_DATABASE_URL": url,
        "HUIQIAN_DATA_DIR": str(data_dir),
        **extra,
    }


class Service:
    """An API server on a free port of 127.0.0.1, ready when ``/api/v1/health/ready`` is 200."""

    def __init__(
        self,
        url: str,
        data_dir: Path,
        command: Callable[[int], list[str]] = gunicorn,
        stderr: IO[bytes] | int = subprocess.DEVNULL,
        **extra_env: str,
    ) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            command(self.port),
            cwd=REPO,
            env=environment(url, data_dir, **extra_env),
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        for _ in range(600):
            try:
                if self.request("GET", "/api/v1/health/ready")[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("the API server exited at start")
            time.sleep(0.1)  # readiness poll, not an assertion
        raise RuntimeError("the API server did not become ready")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=GUARD_SECONDS)
        sent = {"Content-Type": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            connection.request(method, path, json.dumps(body) if body is not None else None, sent)
            response = connection.getresponse()
            data = response.read()
            if response.getheader("Content-Type", "").startswith("text/plain"):
                return response.status, data.decode()
            return response.status, json.loads(data) if data else None
        finally:
            connection.close()

    def token(self, username: str) -> str:
        status, body = self.request(
            "POST", "/api/v1/auth/token", {"username": username, "password": DEMO_PASSWORD}
        )
        assert status == 200, body
        return body["access_token"]

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=GUARD_SECONDS)


class Workers:
    """``huiqian worker`` processes; stopped with SIGTERM, as an orchestrator would."""

    def __init__(
        self, count: int, url: str, data_dir: Path, stderr: IO[bytes] | int = subprocess.DEVNULL
    ) -> None:
        self.processes = [
            subprocess.Popen(
                [sys.executable, "-m", "services.cli", "worker", "--idle", "0.05"],
                cwd=REPO,
                env=environment(url, data_dir),
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
            for _ in range(count)
        ]

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            process.wait(timeout=GUARD_SECONDS)


def stop_all(running: Sequence[Service | Workers]) -> None:
    for item in running:
        item.stop()
