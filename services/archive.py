"""The export archive: definitions, jurisdiction packs and the brand library in one .tar.gz.

Layout (``FORMAT`` 1)::

    index.json                       what is inside: definitions' metadata, packs, brands
    definitions/<id>.xml             the deployed BPMN/DMN bytes
    definitions/<id>.spec.json       the stored spec of a BPMN version
    jurisdictions/<id>.yaml          a jurisdiction pack, byte for byte

Import reads only the members ``index.json`` names, by exact name, into memory
(nothing is extracted to disk), so a crafted archive cannot write files.  The
database part commits as one transaction; new jurisdiction packs are copied
into ``<data dir>/jurisdictions`` afterwards (they are files, read at start).
A pack whose id is already loaded must be identical: ids are unique, and a
different roster under the same id would silently change who countersigns.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine import transfer
from engine.context import EngineContext
from engine.errors import InvalidInput
from engine.jurisdictions import Jurisdiction, parse_pack
from engine.unit_of_work import SqlUnitOfWork
from services.brands import BRAND

FORMAT = 1
INDEX = "index.json"
MAX_MEMBER_BYTES = 64 * 1024 * 1024
_MEMBER_NAME = re.compile(r"^(definitions|jurisdictions)/[A-Za-z0-9_.-]+$")
PACK_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Item:
    """One thing the archive carries: ``kind`` is definition, jurisdiction or brand."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


# --- export --------------------------------------------------------------------------------


def pack_files(ctx: EngineContext, directories: Iterable[Path]) -> dict[str, Path]:
    """The file of each loaded jurisdiction pack, by id."""
    found: dict[str, Path] = {}
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in sorted(directory.iterdir()):
            if path.suffix in PACK_SUFFIXES and path.stem in ctx.jurisdictions:
                found.setdefault(path.stem, path)
    return found


def export_items(ctx: EngineContext, packs: dict[str, Path]) -> list[Item]:
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        definitions = [Item("definition", d.id) for d in transfer.definitions(uow)]
        brands = [Item("brand", r.id) for r in transfer.records(uow, BRAND)]
    return [*definitions, *(Item("jurisdiction", key) for key in sorted(packs)), *brands]


def _add(tar: tarfile.TarFile, name: str, content: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(content), mtime, 0o644
    tar.addfile(info, io.BytesIO(content))


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True).encode()


def write_archive(
    ctx: EngineContext, packs: dict[str, Path], out: Path, items: Iterable[Item]
) -> None:
    """Write ``items`` (from ``export_items``, possibly wrapped in a progress bar) to ``out``."""
    now = datetime.now(UTC)
    index: dict[str, Any] = {
        "format": FORMAT,
        "exported_at": now.isoformat(),
        "definitions": [],
        "jurisdictions": [],
        "brands": [],
    }
    with (
        SqlUnitOfWork(ctx.db, read_only=True) as uow,
        tarfile.open(out, "w:gz") as tar,
    ):
        for item in items:
            if item.kind == "definition":
                definition = uow.definitions.get(item.id)
                assert definition is not None
                _add(tar, f"definitions/{item.id}.xml", definition.xml, now.timestamp())
                if definition.spec is not None:
                    spec = _json(definition.spec)
                    _add(tar, f"definitions/{item.id}.spec.json", spec, now.timestamp())
                index["definitions"].append(transfer.definition_to_dict(definition))
            elif item.kind == "jurisdiction":
                _add(
                    tar,
                    f"jurisdictions/{item.id}.yaml",
                    packs[item.id].read_bytes(),
                    now.timestamp(),
                )
                index["jurisdictions"].append(item.id)
            else:
                record = uow.session.get(transfer.Record, item.id)
                assert record is not None
                index["brands"].append(transfer.record_to_dict(uow, record))
        _add(tar, INDEX, _json(index), now.timestamp())


# --- import --------------------------------------------------------------------------------


class Archive:
    """An export archive opened for reading; members are read by exact name only."""

    def __init__(self, path: Path) -> None:
        try:
            self._tar = tarfile.open(path, "r:gz")
            self.index = json.loads(self._read(INDEX))
        except (tarfile.TarError, OSError, KeyError, ValueError) as exc:
            raise InvalidInput(f"{path}: not a Huiqian export archive ({exc})") from exc
        if self.index.get("format") != FORMAT:
            raise InvalidInput(
                f"{path}: archive format {self.index.get('format')!r}, this version reads {FORMAT}"
            )

    def _read(self, name: str) -> bytes:
        if name != INDEX and not _MEMBER_NAME.match(name):
            raise InvalidInput(f"refusing archive member name {name!r}")
        member = self._tar.getmember(name)
        if not member.isfile() or member.size > MAX_MEMBER_BYTES:
            raise InvalidInput(f"archive member {name!r} is not a file of at most 64 MiB")
        stream = self._tar.extractfile(member)
        assert stream is not None
        return stream.read()

    def items(self) -> list[Item]:
        return [
            *(Item("definition", meta["id"]) for meta in self.index["definitions"]),
            *(Item("jurisdiction", key) for key in self.index["jurisdictions"]),
            *(Item("brand", record["id"]) for record in self.index["brands"]),
        ]

    def definition(self, definition_id: str) -> tuple[dict[str, Any], bytes, dict[str, Any] | None]:
        meta = next(m for m in self.index["definitions"] if m["id"] == definition_id)
        xml = self._read(f"definitions/{definition_id}.xml")
        spec = None
        if meta["kind"] == "bpmn":
            spec = json.loads(self._read(f"definitions/{definition_id}.spec.json"))
        return meta, xml, spec

    def pack(self, jurisdiction_id: str) -> bytes:
        return self._read(f"jurisdictions/{jurisdiction_id}.yaml")

    def brand(self, record_id: str) -> dict[str, Any]:
        return next(r for r in self.index["brands"] if r["id"] == record_id)

    def close(self) -> None:
        self._tar.close()


@dataclass
class ImportResult:
    """Outcomes (created/updated/unchanged) per kind, and the packs written."""

    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    new_packs: list[str] = field(default_factory=list)

    def count(self, kind: str, outcome: str) -> None:
        self.outcomes.setdefault(kind, Counter())[outcome] += 1

    def summary(self) -> str:
        return "; ".join(
            f"{kind}s: " + ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
            for kind, counts in self.outcomes.items()
        )


def _check_pack(ctx: EngineContext, jurisdiction_id: str, content: bytes) -> Jurisdiction | None:
    """The pack to install, or None when the same one is loaded already."""
    try:
        pack = parse_pack(content.decode("utf-8"), f"{jurisdiction_id}.yaml")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"jurisdictions/{jurisdiction_id}.yaml is not UTF-8 text") from exc
    if pack.id != jurisdiction_id:
        raise InvalidInput(f"jurisdictions/{jurisdiction_id}.yaml holds pack {pack.id!r}")
    loaded = ctx.jurisdictions.get(pack.id)
    if loaded is None:
        return pack
    if loaded != pack:
        raise InvalidInput(
            f"jurisdiction {pack.id!r} is loaded here with different content; ids are unique, "
            "so it is not replaced: reconcile the two packs by hand"
        )
    return None


def import_archive(
    ctx: EngineContext, store: Path, archive: Archive, items: Iterable[Item]
) -> ImportResult:
    """Apply ``items`` of ``archive``: the database in one transaction, then the new packs."""
    result = ImportResult()
    packs: dict[str, bytes] = {}
    created_processes: set[str] = set()
    with SqlUnitOfWork(ctx.db) as uow:
        for item in items:
            if item.kind == "definition":
                meta, xml, spec = archive.definition(item.id)
                outcome = transfer.import_definition(uow, meta, xml, spec)
                if outcome == transfer.CREATED and meta["kind"] == "bpmn":
                    created_processes.add(meta["key"])
            elif item.kind == "jurisdiction":
                content = archive.pack(item.id)
                new = _check_pack(ctx, item.id, content)
                outcome = transfer.UNCHANGED if new is None else transfer.CREATED
                if new is not None:
                    packs[item.id] = content
            else:
                outcome = transfer.import_record(uow, archive.brand(item.id))
            result.count(item.kind, outcome)
        transfer.schedule_timer_starts(ctx, uow, created_processes)
        uow.commit()
    for jurisdiction_id, content in packs.items():
        store.mkdir(parents=True, exist_ok=True)
        (store / f"{jurisdiction_id}.yaml").write_bytes(content)
        result.new_packs.append(jurisdiction_id)
    return result
