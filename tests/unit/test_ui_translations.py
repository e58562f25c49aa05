"""The UI's catalogues: every string in the code has its English, and compiles."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.support import Translations

from services.ui.i18n import CATALOGUES, compile_catalogues

ROOT = Path(__file__).resolve().parents[2]


def source_messages() -> set[str]:
    """What ``make translations`` extracts (babel.cfg, plus the lazy_gettext keywords)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}
    found = extract_from_dir(ROOT / "services", method_map, options_map, keywords=keywords)
    return {message if isinstance(message, str) else message[0] for *_, message, _, _ in found}


def english() -> dict[str, str]:
    with (CATALOGUES / "en" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        return {m.id: m.string for m in read_po(po_file) if m.id}


def test_every_ui_string_has_an_english_translation() -> None:
    catalogue = english()

    missing = sorted(m for m in source_messages() if not catalogue.get(m))

    assert missing == [], "run `make translations` and translate these in messages.po"


def test_catalogues_compile_into_the_data_directory(tmp_path: Path) -> None:
    compiled = compile_catalogues(CATALOGUES, tmp_path)

    translations = Translations.load(str(compiled), ["en"])

    assert translations.gettext("部门待办") == "Department tasks"
    assert (tmp_path / "en" / "LC_MESSAGES" / "messages.mo").is_file()
