"""Signing in and out, and choosing the language."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from engine.errors import Unauthorized
from engine.login_limits import TooManyAttempts
from services.auth import SESSION_USER_KEY, verify_login
from services.extensions import engine_context
from services.ui.core import public, safe_next, signed_in_user, ui_bp
from services.ui.i18n import LOCALES, SESSION_LOCALE_KEY


def _fresh_session(user_id: int | None = None) -> None:
    """A new session (so a new CSRF token) that keeps only the chosen language."""
    language = session.get(SESSION_LOCALE_KEY)
    session.clear()
    if user_id is not None:
        session[SESSION_USER_KEY] = user_id
    if language:
        session[SESSION_LOCALE_KEY] = language


@ui_bp.get("/")
@public
def home() -> ResponseReturnValue:
    return redirect(url_for("ui.inbox_page" if signed_in_user() else "ui.login"))


@ui_bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    target = safe_next(request.values.get("next"), url_for("ui.inbox_page"))
    if request.method == "GET":
        return render_template("login.html", next=target, username="")
    username = request.form.get("username", "").strip()
    try:
        with engine_context().db.write_session() as s:
            user = verify_login(s, username, request.form.get("password", ""))
            s.commit()
    except TooManyAttempts as error:
        minutes = max(1, -(-error.retry_after // 60))
        message = _("登录失败次数过多，请 %(minutes)s 分钟后再试。", minutes=minutes)
        return render_template("login.html", next=target, username=username, error=message), 429
    except Unauthorized:
        message = _("用户名或密码错误。")
        return render_template("login.html", next=target, username=username, error=message), 401
    _fresh_session(user.id)
    return redirect(target)


@ui_bp.post("/logout")
def logout() -> ResponseReturnValue:
    _fresh_session()
    flash(_("您已退出登录。"), "info")
    return redirect(url_for("ui.login"))


@ui_bp.post("/language")
@public
def set_language() -> ResponseReturnValue:
    chosen = request.form.get("lang")
    if chosen in LOCALES:
        session[SESSION_LOCALE_KEY] = chosen
    return redirect(safe_next(request.form.get("next"), url_for("ui.home")))
