"""Languages of the UI: zh-CN by default, English on request (flask-babel).

The catalogues live as ``.po`` files in ``services/translations``; the app
compiles them at start into its data directory, so no compiled ``.mo`` file is
kept in git or needs a build step.  Compiling one catalogue takes milliseconds.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, session
from flask_babel import Babel

CATALOGUES = Path(__file__).resolve().parent.parent / "translations"
DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "en")
SESSION_LOCALE_KEY = "lang"
# Where the two governments of the process library are; the API keeps UTC.
DISPLAY_TIMEZONE = "Asia/Shanghai"


def compile_catalogues(source: Path, target: Path) -> Path:
    """Compile every ``<locale>/LC_MESSAGES/*.po`` under ``source`` into ``target``."""
    for po_path in source.glob("*/LC_MESSAGES/*.po"):
        mo_path = target / po_path.relative_to(source).with_suffix(".mo")
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with po_path.open("rb") as po_file:
            catalogue = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalogue)
    return target


def locale_code() -> str:
    """The page's locale, one of LOCALES (Babel would expand ``zh_CN`` to ``zh_Hans_CN``)."""
    chosen = session.get(SESSION_LOCALE_KEY)
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def locale_tag() -> str:
    """The page's locale as HTML's ``lang`` attribute spells it (``zh-CN``, ``en``)."""
    return locale_code().replace("_", "-")


def init_app(app: Flask) -> None:
    compiled = compile_catalogues(CATALOGUES, Path(app.config["HUIQIAN_DATA_DIR"]) / "translations")
    Babel(
        app,
        default_locale=DEFAULT_LOCALE,
        default_translation_directories=str(compiled),
        default_timezone=DISPLAY_TIMEZONE,
        locale_selector=locale_code,
    )
    app.jinja_env.globals.update(ui_locale=locale_code, ui_locale_tag=locale_tag)
