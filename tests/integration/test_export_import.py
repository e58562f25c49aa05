"""Export from one installation, import into a fresh one of the other database kind, compare.

The archive carries every definition version, the jurisdiction packs and the brand
library with its history.  Importing it again changes nothing; an archive that
disagrees with the target (a version number with other content) is refused whole.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from engine import commands
from engine.db import Database
from engine.identity import SYSTEM
from engine.models import Definition
from engine.records import Record, RecordEvent
from services import brands
from services.cli import main as huiqian
from services.config import LIBRARY_DIR
from services.library import deploy_library
from tests.api_helpers import dispose, make_app
from tests.conftest import _migrated
from tests.jurisdiction_factory import write_synthetic_pack

CO_REVIEW = LIBRARY_DIR / "co_review.bpmn"


def _run(args: list[str], url: str, data_dir: Path) -> Any:
    result = CliRunner().invoke(
        huiqian, args, env={"HUIQIAN_DATABASE_URL": url, "HUIQIAN_DATA_DIR": str(data_dir)}
    )
    return result


def _seed(url: str, data_dir: Path) -> None:
    """The process library, a second co_review version, a local pack and two brands."""
    write_synthetic_pack(data_dir / "jurisdictions", departments=3, id="xining")
    app = make_app(url, data_dir)
    ctx = app.extensions["huiqian.engine"]
    deploy_library(ctx, SYSTEM, LIBRARY_DIR)
    changed = CO_REVIEW.read_bytes().replace("汇总意见".encode(), "汇总各部门意见".encode())
    commands.deploy(ctx, SYSTEM, changed, "co_review.bpmn")
    with ctx.db.write_session() as s:
        library = brands.library(s)
        kept = brands.nominate(
            library,
            name="宝鸡面点师",
            jurisdiction="baoji",
            data={"workers": 120},
            actor="baoji.hrss",
            instance_id="i-1",
        )
        brands.nominate(
            library,
            name="青海拉面",
            jurisdiction="qinghai",
            data={},
            actor="qinghai.hrss",
            instance_id=None,
        )
        s.flush()
        brands.move(
            library,
            kept.id,
            brands.IN_LIBRARY,
            action="added",
            jurisdiction="baoji",
            actor="baoji.hrss",
            instance_id="i-2",
            details={"opinion": "同意纳入"},
        )
        s.commit()
    dispose(app)


def _contents(archive: Path) -> dict[str, Any]:
    """Everything in an archive but the moment it was written."""
    with tarfile.open(archive, "r:gz") as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    index = json.loads(members.pop("index.json"))
    index.pop("exported_at")
    return {"index": index, "files": members}


def _counts(url: str) -> tuple[int, int, int]:
    db = Database(url)
    with db.read_session() as s:
        counts = tuple(
            s.scalar(select(func.count()).select_from(table))
            for table in (Definition, Record, RecordEvent)
        )
    db.dispose()
    return counts


@pytest.fixture
def fresh_other_database(database_url: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the other kind than ``database_url``."""
    if database_url.startswith("sqlite"):
        return request.getfixturevalue("postgres_schema_url")
    return _migrated(f"sqlite:///{tmp_path / 'target.sqlite3'}")


def test_an_installation_moves_whole_and_importing_twice_changes_nothing(
    database_url, fresh_other_database, tmp_path
):
    source_dir, target_dir = tmp_path / "source", tmp_path / "target"
    _seed(database_url, source_dir)
    archive = tmp_path / "huiqian-export.tar.gz"
    exported = _run(["export", "--out", str(archive)], database_url, source_dir)
    assert exported.exit_code == 0, exported.output
    assert "3 jurisdictions" in exported.output and "2 brands" in exported.output

    first = _run(["import", str(archive)], fresh_other_database, target_dir)
    assert first.exit_code == 0, first.output
    assert "brands: 2 created" in first.output
    assert "jurisdictions: 1 created, 2 unchanged" in first.output
    assert "new jurisdiction packs xining" in first.output
    assert (target_dir / "jurisdictions" / "xining.yaml").read_bytes() == (
        source_dir / "jurisdictions" / "xining.yaml"
    ).read_bytes()

    again = tmp_path / "again.tar.gz"
    assert _run(["export", "--out", str(again)], fresh_other_database, target_dir).exit_code == 0
    assert _contents(again) == _contents(archive)
    co_reviews = [d for d in _contents(again)["index"]["definitions"] if d["key"] == "co_review"]
    assert [d["version"] for d in co_reviews] == [1, 2]
    (kept,) = [b for b in _contents(again)["index"]["brands"] if b["name"] == "宝鸡面点师"]
    assert [e["to_status"] for e in kept["events"]] == ["nominated", "in_library"]

    counts = _counts(fresh_other_database)
    second = _run(["import", str(archive)], fresh_other_database, target_dir)
    assert second.exit_code == 0, second.output
    assert "created" not in second.output and "updated" not in second.output
    assert _counts(fresh_other_database) == counts


def test_a_diverged_version_refuses_the_whole_import(database_url, fresh_other_database, tmp_path):
    source_dir, target_dir = tmp_path / "source", tmp_path / "target"
    _seed(database_url, source_dir)
    archive = tmp_path / "export.tar.gz"
    assert _run(["export", "--out", str(archive)], database_url, source_dir).exit_code == 0
    other = CO_REVIEW.read_bytes().replace("汇总意见".encode(), "另一种汇总".encode())
    (tmp_path / "co_review.bpmn").write_bytes(other)
    assert (
        _run(
            ["deploy", str(tmp_path / "co_review.bpmn")], fresh_other_database, target_dir
        ).exit_code
        == 0
    )
    before = _counts(fresh_other_database)

    refused = _run(["import", str(archive)], fresh_other_database, target_dir)

    assert refused.exit_code == 1
    assert "bpmn co_review v1 exists here with other content" in refused.output
    assert _counts(fresh_other_database) == before
    assert not (target_dir / "jurisdictions" / "xining.yaml").exists()


def test_something_else_than_an_archive_is_refused(database_url, tmp_path):
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"not a tarball")
    result = _run(["import", str(bogus)], database_url, tmp_path / "data")
    assert result.exit_code == 1 and "not a Huiqian export archive" in result.output


def test_deploy_takes_a_directory_in_dependency_order(database_url, tmp_path):
    result = _run(["deploy", str(LIBRARY_DIR)], database_url, tmp_path / "data")
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("deployed:")]
    order = [line.split()[2] for line in lines]
    assert order.index("co_review") < order.index("brand_nomination")
    assert order.index("brand_assessment_score") < order.index("brand_assessment")
    again = _run(["deploy", str(LIBRARY_DIR)], database_url, tmp_path / "data")
    assert "deployed:" not in again.output and again.output.count("unchanged:") == len(lines)
