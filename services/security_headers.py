"""Security headers on every response.

* ``nosniff`` and ``frame-ancestors 'none'`` / ``X-Frame-Options: DENY`` everywhere:
  no response is ever rendered as another type or inside someone else's frame.
* ``Cache-Control: no-store`` on everything but the vendored static files, so a
  shared cache or the browser's history never keeps a token or a citizen's data.
* HTML pages (the API docs) get a Content-Security-Policy allowing scripts from
  this origin plus, by SHA-256, exactly the inline scripts the page contains.
  Hashing the page as served means the Swagger UI's inline init script keeps
  working without ``'unsafe-inline'``, and any injected script does not run.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request

API_CSP = "default-src 'none'; frame-ancestors 'none'"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.I)


def _script_hashes(html: bytes) -> list[str]:
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def html_csp(html: bytes) -> str:
    scripts = " ".join(["'self'", *_script_hashes(html)])
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        # Swagger UI sets style attributes from its scripts.
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    if response.mimetype == "text/html" and not response.direct_passthrough:
        headers["Content-Security-Policy"] = html_csp(response.get_data())
    else:
        headers.setdefault("Content-Security-Policy", API_CSP)
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    return response


def register(app: Flask) -> None:
    app.after_request(add_security_headers)
