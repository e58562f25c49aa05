"""One HTTP POST to a checked target: pinned address, no redirects, bounded time and answer.

``http.client`` never follows redirects, and ``_create_connection`` is replaced so
the socket goes to the address ``ssrf.check_url`` approved while ``Host`` and TLS
SNI/certificate checks still use the URL's host name.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any

from webhooks.ssrf import Target

_TLS = ssl.create_default_context()


@dataclass(frozen=True)
class Outcome:
    """What one request achieved; ``status`` is None when no answer arrived."""

    status: int | None
    latency_ms: int
    response: str = ""
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def _connection(target: Target, timeout: float) -> http.client.HTTPConnection:
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = http.client.HTTPSConnection(
            target.host, target.port, timeout=timeout, context=_TLS
        )
    else:
        connection = http.client.HTTPConnection(target.host, target.port, timeout=timeout)

    def pinned(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        return socket.create_connection((target.address, address[1]), *args, **kwargs)

    connection._create_connection = pinned  # type: ignore[attr-defined]
    return connection


def post(
    target: Target, body: bytes, headers: dict[str, str], *, timeout: float, excerpt_chars: int
) -> Outcome:
    started = time.perf_counter()
    connection = _connection(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read(excerpt_chars * 4).decode("utf-8", "replace")[:excerpt_chars]
        latency = time.perf_counter() - started
        if latency > timeout:
            return Outcome(None, round(latency * 1000), text, f"no answer within {timeout:g} s")
        return Outcome(response.status, round(latency * 1000), text)
    except (OSError, http.client.HTTPException) as exc:
        latency_ms = round((time.perf_counter() - started) * 1000)
        return Outcome(None, latency_ms, "", f"{type(exc).__name__}: {exc}"[:500])
    finally:
        connection.close()
