"""`huiqian jurisdictions load FILE` installs a new pack; the next start of the service has it."""

from click.testing import CliRunner

from services.app import create_app
from services.cli import main as huiqian
from tests.jurisdiction_factory import write_synthetic_pack


def test_a_loaded_pack_is_validated_installed_and_listed(tmp_path):
    data_dir = tmp_path / "data"
    pack = write_synthetic_pack(tmp_path / "incoming", departments=20, id="xian")
    env = {"HUIQIAN_DATA_DIR": str(data_dir), "HUIQIAN_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}

    loaded = CliRunner().invoke(huiqian, ["jurisdictions", "load", str(pack)], env=env)
    assert loaded.exit_code == 0, loaded.output
    assert "xian" in loaded.output and "20 departments" in loaded.output
    assert (data_dir / "jurisdictions" / "xian.yaml").is_file()

    listed = CliRunner().invoke(huiqian, ["jurisdictions", "list"], env=env)
    assert "xian" in listed.output and "baoji" in listed.output and "qinghai" in listed.output
    app = create_app({"HUIQIAN_DATA_DIR": data_dir})
    assert len(app.extensions["huiqian.engine"].jurisdictions["xian"].departments) == 20


def test_an_invalid_pack_is_refused_and_not_installed(tmp_path):
    data_dir = tmp_path / "data"
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nname: 坏\n", encoding="utf-8")
    outcome = CliRunner().invoke(
        huiqian, ["jurisdictions", "load", str(broken)], env={"HUIQIAN_DATA_DIR": str(data_dir)}
    )
    assert outcome.exit_code == 1
    assert "broken.yaml" in outcome.output
    assert not (data_dir / "jurisdictions" / "broken.yaml").exists()
