"""Jurisdiction packs: each policy document's signatory roster and responsibility matrix.

A jurisdiction is data, not code: adding one means dropping a YAML file into
``bpmn/jurisdictions/`` or into a directory named by ``HUIQIAN_JURISDICTIONS_DIR``.  A pack is
checked twice: first against ``bpmn/jurisdictions/schema.json`` (shape and types), then here for
what a schema cannot express (cross-references, uniqueness, date order).  Every failure names the
file and the exact path of the fault, so that a policy officer editing YAML can find it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, Literal, NoReturn

import jsonschema
import yaml
from jsonschema.exceptions import best_match

from engine.errors import InvalidInput, NotFound, PayloadTooLarge

PACK_DIR = Path(__file__).resolve().parent.parent / "bpmn" / "jurisdictions"
SCHEMA_PATH = PACK_DIR / "schema.json"
ENV_VAR = "HUIQIAN_JURISDICTIONS_DIR"
PACK_SUFFIXES = (".yaml", ".yml")
MAX_PACK_BYTES = 1024 * 1024
# yaml.safe_load keeps aliases as shared references, so a 1 MiB "billion laughs" file loads
# quickly but expands exponentially once walked.  No honest pack comes near this many nodes.
MAX_PACK_NODES = 100_000

Level = Literal["city", "province", "national"]
Wording = Literal["负责", "按职责分工负责"]
_NOT_IN_ROSTER = "is not a department of this roster"
_Fail = Callable[[Sequence[str | int], str], NoReturn]


@dataclass(frozen=True)
class Department:
    """A co-signing department; ``short_name`` is the form the measures use."""

    code: str
    name: str
    name_en: str
    short_name: str | None = None
    aliases: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "short_name": self.short_name,
            "aliases": list(self.aliases),
        }


@dataclass(frozen=True)
class Actor:
    """An actor a measure names that is not a signatory (a Party organ, an open set)."""

    code: str
    name: str
    name_en: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "name_en": self.name_en}


@dataclass(frozen=True)
class Measure:
    """One numbered measure; ``departments`` keeps the order of its parenthesis."""

    id: str
    title: str
    departments: tuple[str, ...]
    title_en: str | None = None
    wording: Wording | None = None
    other_actors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "title_en": self.title_en,
            "departments": list(self.departments),
            "wording": self.wording,
            "other_actors": list(self.other_actors),
        }


@dataclass(frozen=True)
class Jurisdiction:
    """A validated pack; ``holidays`` and ``workdays`` form its business calendar."""

    id: str
    name: str
    level: Level
    document: str
    issued: date
    valid_from: date | None
    valid_until: date | None
    lead: str
    departments: tuple[Department, ...]
    measures: tuple[Measure, ...]
    name_en: str | None = None
    title: str | None = None
    other_actors: tuple[Actor, ...] = ()
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    def department_codes(self) -> list[str]:
        return [department.code for department in self.departments]

    def department(self, code: str) -> Department:
        for department in self.departments:
            if department.code == code:
                return department
        raise NotFound(f"jurisdiction {self.id!r} has no department {code!r}")

    def measure(self, id: str) -> Measure:
        for measure in self.measures:
            if measure.id == id:
                return measure
        raise NotFound(f"jurisdiction {self.id!r} has no measure {id!r}")

    def to_dict(self) -> dict[str, Any]:
        """The pack as JSON-ready data; it validates against the schema and parses back equal."""
        return {
            "id": self.id,
            "name": self.name,
            "name_en": self.name_en,
            "title": self.title,
            "level": self.level,
            "document": self.document,
            "issued": self.issued.isoformat(),
            "valid_from": _iso_or_none(self.valid_from),
            "valid_until": _iso_or_none(self.valid_until),
            "lead": self.lead,
            "departments": [department.to_dict() for department in self.departments],
            "other_actors": [actor.to_dict() for actor in self.other_actors],
            "measures": [measure.to_dict() for measure in self.measures],
            "calendar": {
                "holidays": [day.isoformat() for day in sorted(self.holidays)],
                "workdays": [day.isoformat() for day in sorted(self.workdays)],
            },
        }


def parse_pack(text: str, source: str) -> Jurisdiction:
    """Parse and validate one pack; ``source`` (usually the file name) prefixes every error."""
    if len(text.encode("utf-8")) > MAX_PACK_BYTES:
        raise _too_large(source)
    try:
        loaded = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise InvalidInput(f"{source}: {where}invalid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source}: invalid YAML: {exc}") from exc
    except ValueError as exc:
        # The timestamp resolver accepts 2022-13-01 and the date constructor then raises.
        raise InvalidInput(f"{source}: invalid YAML value: {exc}") from exc
    except RecursionError as exc:
        raise InvalidInput(f"{source}: invalid YAML: nested too deeply") from exc
    tree = _json_tree(loaded, source)
    error = best_match(_validator().iter_errors(tree))
    if error is not None:
        raise InvalidInput(_located(source, error.absolute_path, error.message))
    _check_references(tree, source)
    return _build(tree)


def load_pack(path: Path) -> Jurisdiction:
    """Load one pack file; its ``id`` must equal the file name without extension."""
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_PACK_BYTES + 1)
    except FileNotFoundError as exc:
        raise NotFound(f"{path}: no such jurisdiction pack") from exc
    if len(raw) > MAX_PACK_BYTES:
        raise _too_large(path.name)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{path.name}: not UTF-8 text (byte {exc.start})") from exc
    jurisdiction = parse_pack(text, path.name)
    if jurisdiction.id != path.stem:
        raise InvalidInput(
            f"{path.name}: id: {jurisdiction.id!r} does not match the file name {path.stem!r}"
        )
    return jurisdiction


def load_directory(path: Path) -> dict[str, Jurisdiction]:
    """Load every ``*.yaml``/``*.yml`` pack in ``path`` (not recursive), keyed by id."""
    return _load_files(_pack_files(path))


def default_directories() -> list[Path]:
    """The repo's pack directory (if present), then each ``HUIQIAN_JURISDICTIONS_DIR`` entry."""
    directories = [PACK_DIR] if PACK_DIR.is_dir() else []
    entries = os.environ.get(ENV_VAR, "").split(os.pathsep)
    directories.extend(Path(entry) for entry in entries if entry)
    return directories


def load_all(extra_dirs: Iterable[Path] = ()) -> dict[str, Jurisdiction]:
    """Load the packs of all default directories plus ``extra_dirs``.

    An id defined twice is an error rather than an override: silently shadowing a legal roster
    would change who must countersign without anyone noticing.
    """
    directories = _unique_directories([*default_directories(), *extra_dirs])
    return _load_files(file for directory in directories for file in _pack_files(directory))


def _too_large(source: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"{source}: a jurisdiction pack may not exceed {MAX_PACK_BYTES} bytes")


def _iso_or_none(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator_class = jsonschema.Draft202012Validator
    return validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)


def _json_tree(loaded: Any, source: str) -> Any:
    """Copy the YAML tree as JSON data (dates become ISO strings), refusing alias bombs."""
    visited = 0

    def copy(node: Any) -> Any:
        nonlocal visited
        visited += 1
        if visited > MAX_PACK_NODES:
            raise InvalidInput(f"{source}: more than {MAX_PACK_NODES} YAML nodes (alias bomb?)")
        if isinstance(node, dict):
            return {key: copy(value) for key, value in node.items()}
        if isinstance(node, list):
            return [copy(item) for item in node]
        if isinstance(node, date):
            return node.isoformat()
        return node

    return copy(loaded)


def _located(source: str, path: Iterable[str | int], message: str) -> str:
    """Format ``source: measures[3].departments[1]: message`` (no path for the whole pack)."""
    location = ""
    for part in path:
        location += f"[{part}]" if isinstance(part, int) else (f".{part}" if location else part)
    return f"{source}: {location}: {message}" if location else f"{source}: {message}"


def _check_references(tree: dict[str, Any], source: str) -> None:
    """Checks the schema cannot express; the first fault found is raised."""

    def fail(path: Sequence[str | int], message: str) -> NoReturn:
        raise InvalidInput(_located(source, path, message))

    roster = _first_index(tree["departments"], "code", "departments", fail)
    actors = _first_index(tree.get("other_actors", []), "code", "other_actors", fail)
    for code, index in actors.items():
        if code in roster:
            fail(["other_actors", index, "code"], f"{code!r} is already a roster department")
    if tree["lead"] not in roster:
        fail(["lead"], f"{tree['lead']!r} {_NOT_IN_ROSTER}")
    _first_index(tree["measures"], "id", "measures", fail)
    for m, measure in enumerate(tree["measures"]):
        for d, code in enumerate(measure["departments"]):
            if code not in roster:
                fail(["measures", m, "departments", d], f"{code!r} {_NOT_IN_ROSTER}")
        for a, code in enumerate(measure.get("other_actors", [])):
            if code not in actors:
                fail(["measures", m, "other_actors", a], f"{code!r} is not one of other_actors")
    valid_from, valid_until = tree["valid_from"], tree["valid_until"]
    # ISO dates compare chronologically as text.
    if valid_from is not None and valid_until is not None and valid_from > valid_until:
        fail(["valid_until"], f"{valid_until} is before valid_from {valid_from}")
    calendar = tree.get("calendar", {})
    holidays = set(calendar.get("holidays", []))
    for w, text in enumerate(calendar.get("workdays", [])):
        if text in holidays:
            fail(["calendar", "workdays", w], f"{text} is also listed as a holiday")
        if date.fromisoformat(text).weekday() < 5:
            weekday = date.fromisoformat(text).strftime("%A")
            fail(["calendar", "workdays", w], f"{text} is a {weekday}, not a weekend make-up day")


def _first_index(items: list[dict[str, Any]], key: str, name: str, fail: _Fail) -> dict[str, int]:
    """Map each ``item[key]`` to its index, failing on the first repeated value."""
    index: dict[str, int] = {}
    for position, item in enumerate(items):
        value = item[key]
        if value in index:
            fail([name, position, key], f"{value!r} is already used by {name}[{index[value]}]")
        index[value] = position
    return index


def _build(tree: dict[str, Any]) -> Jurisdiction:
    calendar = tree.get("calendar", {})
    return Jurisdiction(
        id=tree["id"],
        name=tree["name"],
        name_en=tree.get("name_en"),
        title=tree.get("title"),
        level=tree["level"],
        document=tree["document"],
        issued=date.fromisoformat(tree["issued"]),
        valid_from=_date_or_none(tree["valid_from"]),
        valid_until=_date_or_none(tree["valid_until"]),
        lead=tree["lead"],
        departments=tuple(
            Department(
                code=item["code"],
                name=item["name"],
                name_en=item["name_en"],
                short_name=item.get("short_name"),
                aliases=tuple(item.get("aliases", [])),
            )
            for item in tree["departments"]
        ),
        other_actors=tuple(
            Actor(code=item["code"], name=item["name"], name_en=item["name_en"])
            for item in tree.get("other_actors", [])
        ),
        measures=tuple(
            Measure(
                id=item["id"],
                title=item["title"],
                title_en=item.get("title_en"),
                departments=tuple(item["departments"]),
                wording=item.get("wording"),
                other_actors=tuple(item.get("other_actors", [])),
            )
            for item in tree["measures"]
        ),
        holidays=frozenset(date.fromisoformat(day) for day in calendar.get("holidays", [])),
        workdays=frozenset(date.fromisoformat(day) for day in calendar.get("workdays", [])),
    )


def _date_or_none(text: str | None) -> date | None:
    return date.fromisoformat(text) if text is not None else None


def _pack_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        raise InvalidInput(f"{directory}: jurisdiction directory does not exist")
    return sorted(
        path
        for path in directory.iterdir()
        if path.suffix in PACK_SUFFIXES and path.is_file() and not path.name.startswith(".")
    )


def _unique_directories(directories: Iterable[Path]) -> Iterator[Path]:
    """Drop repeats (e.g. the env var naming the repository directory) so no pack loads twice."""
    seen: set[Path] = set()
    for directory in directories:
        resolved = directory.resolve()
        if resolved not in seen:
            seen.add(resolved)
            yield directory


def _load_files(files: Iterable[Path]) -> dict[str, Jurisdiction]:
    packs: dict[str, Jurisdiction] = {}
    origins: dict[str, Path] = {}
    for path in files:
        jurisdiction = load_pack(path)
        if jurisdiction.id in packs:
            raise InvalidInput(
                f"{path}: jurisdiction {jurisdiction.id!r} is already defined by "
                f"{origins[jurisdiction.id]}"
            )
        packs[jurisdiction.id] = jurisdiction
        origins[jurisdiction.id] = path
    return packs
