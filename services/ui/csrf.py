"""Cross-site request forgery: which unsafe requests must carry the CSRF token.

A browser sends the session cookie with any request, so every UI form carries
the token (``csrf_token()`` in the template; flask-wtf checks it), and so does
any API call that relies on that cookie instead of a bearer token (header
``X-CSRFToken``).  A bearer token is never sent by the browser on its own, so
API clients that use one, or that send no credentials at all (the token
endpoint), need no CSRF token.
"""

from __future__ import annotations

from flask import Flask, request, session
from flask_wtf.csrf import CSRFProtect

from services.auth import SESSION_USER_KEY
from services.ui.core import registry

csrf = CSRFProtect()


def _uses_session_cookie() -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    has_bearer = scheme.lower() == "bearer" and bool(token.strip())
    return SESSION_USER_KEY in session and not has_bearer


def _protect() -> None:
    if request.blueprint in registry().blueprints or _uses_session_cookie():
        csrf.protect()


def init_app(app: Flask) -> None:
    # The checks run from ``_protect`` only; tokens last as long as the session,
    # so an officer may take an afternoon over an opinion.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # Over HTTPS flask-wtf would also demand a same-origin Referer, which our
    # pages never send (``Referrer-Policy: no-referrer``); the token and the
    # SameSite=Lax session cookie already stop cross-site posts.
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    csrf.init_app(app)
    app.before_request(_protect)
