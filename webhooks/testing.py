"""A real HTTP receiver on 127.0.0.1 for tests and benchmarks.

It records every request and answers from a script of status codes (then a
default), so a test can make a receiver fail three times and then accept.
Verifying signatures is left to the caller (with the ``standardwebhooks``
library in the tests), so this module needs nothing beyond the standard library.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(
        self,
        statuses: Iterable[int] = (),
        default: int = 200,
        on_request: Callable[[Received], None] | None = None,
    ) -> None:
        self.script = deque(statuses)
        self.default = default
        self.on_request = on_request
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def message_ids(self) -> set[str]:
        """The distinct ``webhook-id`` headers received (requests without one are skipped)."""
        with self._lock:
            found = {request.headers.get("webhook-id") for request in self.received}
        found.discard(None)
        return found  # type: ignore[return-value]

    def _answer(self, request: Received) -> int:
        if self.on_request is not None:
            self.on_request(request)
        with self._lock:
            self.received.append(request)
            return self.script.popleft() if self.script else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status = receiver._answer(Received(self.path, headers, body))
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                return

        return Handler

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
