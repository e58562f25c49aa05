"""What every UI blueprint shares: the signed-in user, login and role checks,
the navigation, and HTML error pages instead of the API's problem+json.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from engine.errors import HuiqianError, Unauthorized
from engine.identity import Principal, Role
from engine.models import User
from services.auth import SESSION_USER_KEY
from services.extensions import engine_context

log = logging.getLogger(__name__)
UI_EXTENSION = "huiqian.ui"
# The officer's pages; templates are the app's (services/templates).
ui_bp = Blueprint("ui", __name__)
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class NavItem:
    """A link in the top navigation; ``roles`` None shows it to every signed-in user.

    ``label`` is a ``lazy_gettext`` string, translated when the page renders.
    """

    endpoint: str
    label: Any
    roles: frozenset[Role] | None = None


@dataclass
class UiRegistry:
    blueprints: set[str]
    nav: list[NavItem]


def registry(app: Flask | None = None) -> UiRegistry:
    return (app or current_app).extensions[UI_EXTENSION]


def public(view: F) -> F:
    """Mark a UI view as reachable without signing in (the login page)."""
    view.ui_public = True  # type: ignore[attr-defined]
    return view


def signed_in_user() -> User | None:
    """The active user of the session cookie, loaded once per request."""
    if "ui_user" not in g:
        user = None
        if SESSION_USER_KEY in session:
            with engine_context().db.lookup_session() as s:
                user = s.get(User, session[SESSION_USER_KEY])
            if user is not None and not user.active:
                user = None
        g.ui_user = user
    return g.ui_user


def principal() -> Principal:
    user = signed_in_user()
    if user is None:
        raise Unauthorized("sign in first")
    return Principal.of(user)


def safe_next(target: str | None, default: str) -> str:
    """``target`` if it is a path on this site, else ``default``: no open redirects."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default  # browsers read /\host as //host: another site
    parts = urlsplit(target)
    return default if parts.scheme or parts.netloc else target


def _login_redirect() -> ResponseReturnValue:
    return redirect(url_for("ui.login", next=request.full_path.rstrip("?")))


def _guard(roles: frozenset[Role] | None) -> Callable[[], ResponseReturnValue | None]:
    def check() -> ResponseReturnValue | None:
        view = current_app.view_functions.get(request.endpoint or "")
        if getattr(view, "ui_public", False):
            return None
        user = signed_in_user()
        if user is None:
            return _login_redirect()
        if roles is not None and Role(user.role) not in roles:
            return error_page(403)
        return None

    return check


def error_page(status: int, detail: str | None = None) -> ResponseReturnValue:
    return render_template("error.html", status=status, detail=detail), status


def _http_error(error: HTTPException) -> ResponseReturnValue:
    return error_page(error.code or 500, error.description)


def _engine_error(error: HuiqianError) -> ResponseReturnValue:
    if isinstance(error, Unauthorized):
        return _login_redirect()
    return error_page(error.status, error.detail)


def _unexpected_error(error: Exception) -> ResponseReturnValue:
    log.exception("unhandled error on a web page")
    return error_page(500)


def register_ui_blueprint(
    app: Flask,
    blueprint: Blueprint,
    *,
    nav: Iterable[NavItem] = (),
    roles: Iterable[Role] | None = None,
) -> None:
    """Register a blueprint of HTML pages.

    Its pages require a signed-in user (except views marked ``@public``) with
    one of ``roles`` (None: any role), its POSTs require the CSRF token, its
    errors render ``error.html``, and ``nav`` adds links to the top navigation.
    """
    if not hasattr(blueprint, "ui_roles"):
        # Hooks go on the blueprint once: it is a module global that every app registers.
        blueprint.ui_roles = frozenset(roles) if roles is not None else None  # type: ignore[attr-defined]
        blueprint.before_request(_guard(blueprint.ui_roles))  # type: ignore[attr-defined]
        blueprint.register_error_handler(HTTPException, _http_error)
        blueprint.register_error_handler(HuiqianError, _engine_error)
        blueprint.register_error_handler(Exception, _unexpected_error)
    app.register_blueprint(blueprint)
    ui = registry(app)
    ui.blueprints.add(blueprint.name)
    ui.nav.extend(nav)


def _nav_for_user() -> list[NavItem]:
    user = signed_in_user()
    if user is None:
        return []
    role = Role(user.role)
    return [item for item in registry().nav if item.roles is None or role in item.roles]


def init_app(app: Flask) -> None:
    app.extensions[UI_EXTENSION] = UiRegistry(blueprints=set(), nav=[])

    @app.context_processor
    def _ui_context() -> dict[str, Any]:
        if request.blueprint not in registry().blueprints:
            return {}
        return {"ui_user": signed_in_user(), "ui_nav": _nav_for_user}
