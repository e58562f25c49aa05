"""Jurisdiction packs: the shipped Baoji and Qinghai data, and the loader's validation."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from engine.errors import InvalidInput, NotFound, PayloadTooLarge
from engine.jurisdictions import (
    MAX_PACK_BYTES,
    PACK_DIR,
    SCHEMA_PATH,
    Jurisdiction,
    default_directories,
    load_all,
    load_directory,
    load_pack,
    parse_pack,
)
from tests.jurisdiction_factory import write_synthetic_pack

# DOMAIN.md §1.1, in each jurisdiction's roster order.
BAOJI_CODES = [
    "hrss", "ndrc", "edu", "sci", "miit", "civil", "fin", "land", "housing", "agri",
    "commerce", "culture", "health", "samr", "rural_rev", "pboc", "cbirc",
]  # fmt: skip
QINGHAI_CODES = [
    "hrss", "ndrc", "edu", "sci", "miit", "civil", "fin", "land", "housing", "agri",
    "commerce", "culture", "health", "samr", "radio_tv", "rural_rev", "pboc", "cbirc", "csrc",
]  # fmt: skip


@pytest.fixture(scope="module")
def baoji() -> Jurisdiction:
    return load_pack(PACK_DIR / "baoji.yaml")


@pytest.fixture(scope="module")
def qinghai() -> Jurisdiction:
    return load_pack(PACK_DIR / "qinghai.yaml")


@pytest.fixture(autouse=True)
def no_env_directories(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUIQIAN_JURISDICTIONS_DIR", raising=False)


# --- the shipped packs -------------------------------------------------------------------------


def test_baoji_roster_is_the_17_header_signatories_in_order(baoji: Jurisdiction) -> None:
    assert baoji.department_codes() == BAOJI_CODES


def test_qinghai_roster_is_the_19_signatories_in_order(qinghai: Jurisdiction) -> None:
    assert qinghai.department_codes() == QINGHAI_CODES


def test_both_packs_are_led_by_hrss_the_first_signatory(
    baoji: Jurisdiction, qinghai: Jurisdiction
) -> None:
    assert (baoji.lead, qinghai.lead) == ("hrss", "hrss")
    assert baoji.department("hrss").name == "宝鸡市人力资源和社会保障局"
    assert qinghai.department("hrss").name == "青海省人力资源和社会保障厅"


def test_baoji_has_17_measures_from_three_one_to_seven_four(baoji: Jurisdiction) -> None:
    assert [measure.id for measure in baoji.measures] == [
        "三(一)", "三(二)", "三(三)", "三(四)", "四(一)", "四(二)", "四(三)", "五(一)", "五(二)",
        "五(三)", "六(一)", "六(二)", "六(三)", "七(一)", "七(二)", "七(三)", "七(四)",
    ]  # fmt: skip


def test_qinghai_has_16_measures_numbered_one_to_sixteen(qinghai: Jurisdiction) -> None:
    numerals = "一 二 三 四 五 六 七 八 九 十 十一 十二 十三 十四 十五 十六".split()
    assert [measure.id for measure in qinghai.measures] == [f"({n})" for n in numerals]


def test_baoji_5_2_reads_the_page_break_fragment_as_housing(baoji: Jurisdiction) -> None:
    measure = baoji.measure("五(二)")
    assert measure.departments == ("ndrc", "sci", "miit", "hrss", "housing", "commerce", "pboc")
    assert measure.wording == "按职责分工负责"


def test_qinghai_6_lists_its_departments_in_parenthesis_order(qinghai: Jurisdiction) -> None:
    measure = qinghai.measure("(六)")
    assert measure.title == "提升劳务品牌就业服务水平"
    assert measure.departments == ("hrss", "agri", "commerce", "rural_rev", "fin")


def test_all_departments_measures_expand_to_the_whole_roster(
    baoji: Jurisdiction, qinghai: Jurisdiction
) -> None:
    assert list(qinghai.measure("(十二)").departments) == QINGHAI_CODES
    assert list(baoji.measure("七(一)").departments) == BAOJI_CODES


def test_non_signatories_are_other_actors_not_departments(baoji: Jurisdiction) -> None:
    storytelling = baoji.measure("六(三)")
    assert storytelling.departments == ("hrss", "culture")
    assert storytelling.other_actors == ("propaganda",)
    assert baoji.measure("四(一)").other_actors == ("related",)
    assert baoji.measure("七(三)").departments == ("fin", "hrss")
    assert {actor.code: actor.name for actor in baoji.other_actors} == {
        "propaganda": "市委宣传部",
        "related": "市级相关部门",
    }


def test_wording_distinguishes_sole_from_shared_responsibility(
    baoji: Jurisdiction, qinghai: Jurisdiction
) -> None:
    assert baoji.measure("三(一)").wording == "负责"
    assert baoji.measure("三(二)").wording == "按职责分工负责"
    assert qinghai.measure("(一)").wording == "负责"
    # "下同" in (二) carries the qualifier to later department-only parentheses.
    assert qinghai.measure("(十三)").wording == "按职责分工负责"


def test_full_names_repair_the_baoji_header_defects(baoji: Jurisdiction) -> None:
    assert baoji.department("agri").name == "宝鸡市农业农村局"
    cbirc = baoji.department("cbirc")
    assert (cbirc.name, cbirc.short_name) == (
        "中国银行保险监督管理委员会宝鸡监管分局",
        "宝鸡银保监分局",
    )
    assert baoji.department("hrss").aliases == ("市人社局",)


def test_short_names_are_the_forms_used_in_measures(qinghai: Jurisdiction) -> None:
    shorts = {department.code: department.short_name for department in qinghai.departments}
    assert shorts["hrss"] == "省人力资源社会保障厅"
    assert shorts["pboc"] == "人行西宁中心支行"
    assert shorts["csrc"] == "青海证监局"


def test_validity_is_stated_for_qinghai_only(baoji: Jurisdiction, qinghai: Jurisdiction) -> None:
    assert (qinghai.issued, qinghai.valid_from, qinghai.valid_until) == (
        date(2022, 4, 28), date(2022, 6, 1), date(2027, 5, 31),
    )  # fmt: skip
    assert (baoji.issued, baoji.valid_from, baoji.valid_until) == (date(2022, 8, 19), None, None)
    assert (baoji.level, qinghai.level) == ("city", "province")


def test_calendar_holds_the_national_2025_and_2026_schedules(
    baoji: Jurisdiction, qinghai: Jurisdiction
) -> None:
    assert baoji.holidays == qinghai.holidays and baoji.workdays == qinghai.workdays
    spring_2025 = {day for day in baoji.holidays if date(2025, 1, 20) <= day <= date(2025, 2, 10)}
    assert min(spring_2025) == date(2025, 1, 28) and len(spring_2025) == 8
    assert len([day for day in baoji.holidays if day.year == 2026]) == 33
    assert {date(2025, 1, 26), date(2025, 2, 8), date(2026, 2, 14), date(2026, 2, 28)} <= (
        baoji.workdays
    )


def test_lookup_of_unknown_department_or_measure_is_not_found(baoji: Jurisdiction) -> None:
    with pytest.raises(NotFound, match="'radio_tv'"):
        baoji.department("radio_tv")
    with pytest.raises(NotFound, match=r"'\(六\)'"):
        baoji.measure("(六)")


def test_to_dict_is_json_and_parses_back_to_the_same_pack(qinghai: Jurisdiction) -> None:
    data = qinghai.to_dict()
    assert data["valid_from"] == "2022-06-01"
    assert data["calendar"]["workdays"][0] == "2025-01-26"
    assert parse_pack(json.dumps(data, ensure_ascii=False), "qinghai.json") == qinghai


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(json.loads(SCHEMA_PATH.read_text("utf-8")))


def test_the_contract_example_from_the_issue_is_a_valid_pack() -> None:
    contract = """
id: qinghai
name: 青海省
level: province
document: 青人社厅发〔2022〕34号
issued: 2022-04-28
valid_from: 2022-06-01
valid_until: 2027-05-31
lead: hrss
departments:
  - {code: hrss, name: 青海省人力资源和社会保障厅, name_en: Department of Human Resources and Social Security}
measures:
  - {id: "(六)", title: 提升劳务品牌就业服务水平, departments: [hrss]}
"""
    pack = parse_pack(contract, "contract.yaml")
    assert pack.measure("(六)").departments == ("hrss",)
    assert pack.holidays == frozenset() and pack.other_actors == ()


# --- validation ----------------------------------------------------------------------------------


def _baoji_tree() -> dict[str, Any]:
    return yaml.safe_load((PACK_DIR / "baoji.yaml").read_text("utf-8"))


def _set(path: list[str | int], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(tree: dict[str, Any]) -> None:
        node: Any = tree
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _both(*mutators: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(tree: dict[str, Any]) -> None:
        for mutator in mutators:
            mutator(tree)

    return mutate


def _delete(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda tree: tree.pop(key)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            _set(["measures", 3, "departments"], ["hrss", "xyz"]),
            "baoji.yaml: measures[3].departments[1]: 'xyz' is not a department of this roster",
        ),
        (
            _set(["departments", 5, "code"], "edu"),
            "baoji.yaml: departments[5].code: 'edu' is already used by departments[2]",
        ),
        (
            _set(["lead"], "radio_tv"),
            "baoji.yaml: lead: 'radio_tv' is not a department of this roster",
        ),
        (
            _set(["measures", 4, "id"], "三(一)"),
            "baoji.yaml: measures[4].id: '三(一)' is already used by measures[0]",
        ),
        (
            _set(["measures", 12, "other_actors"], ["gov"]),
            "baoji.yaml: measures[12].other_actors[0]: 'gov' is not one of other_actors",
        ),
        (
            _set(["other_actors", 1, "code"], "fin"),
            "baoji.yaml: other_actors[1].code: 'fin' is already a roster department",
        ),
        (
            _both(_set(["valid_from"], date(2027, 6, 1)), _set(["valid_until"], date(2022, 6, 1))),
            "baoji.yaml: valid_until: 2022-06-01 is before valid_from 2027-06-01",
        ),
        (
            _set(["calendar", "workdays", 2], date(2025, 4, 28)),
            "baoji.yaml: calendar.workdays[2]: 2025-04-28 is a Monday, not a weekend make-up day",
        ),
        (
            _set(["calendar", "workdays", 0], date(2025, 2, 1)),
            "baoji.yaml: calendar.workdays[0]: 2025-02-01 is also listed as a holiday",
        ),
        (
            _set(["departments", 0, "code"], "HRSS"),
            "baoji.yaml: departments[0].code: 'HRSS' does not match '^[a-z][a-z0-9_]*$'",
        ),
        (_delete("lead"), "baoji.yaml: 'lead' is a required property"),
        (
            _set(["valid_untill"], None),
            "baoji.yaml: Additional properties are not allowed ('valid_untill' was unexpected)",
        ),
        (
            _set(["level"], "county"),
            "baoji.yaml: level: 'county' is not one of ['city', 'province', 'national']",
        ),
        (
            _set(["measures", 0, "wording"], "牵头"),
            "baoji.yaml: measures[0].wording: '牵头' is not one of ['负责', '按职责分工负责', None]",
        ),
        (_set(["issued"], "2022-02-30"), "baoji.yaml: issued: '2022-02-30' is not a 'date'"),
        (
            _set(["valid_from"], 20220601),
            "baoji.yaml: valid_from: 20220601 is not of type 'string', 'null'",
        ),
    ],
)
def test_each_validation_failure_names_the_file_and_the_path(
    mutate: Callable[[dict[str, Any]], None], message: str
) -> None:
    tree = _baoji_tree()
    mutate(tree)
    with pytest.raises(InvalidInput) as raised:
        parse_pack(yaml.safe_dump(tree, allow_unicode=True, sort_keys=False), "baoji.yaml")
    assert raised.value.detail == message


def test_a_pack_that_is_not_a_mapping_is_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"^x\.yaml: \['hrss'\] is not of type 'object'$"):
        parse_pack("- hrss\n", "x.yaml")


def test_yaml_syntax_errors_give_file_line_and_column() -> None:
    with pytest.raises(InvalidInput, match=r"^bad\.yaml: line 2, column 5: invalid YAML: expected"):
        parse_pack("departments: [hrss\nlead: hrss\n", "bad.yaml")


def test_deeply_nested_yaml_is_refused() -> None:
    with pytest.raises(InvalidInput, match="^deep.yaml: invalid YAML: nested too deeply$"):
        parse_pack("[" * 100_000, "deep.yaml")


def test_impossible_unquoted_date_is_refused() -> None:
    with pytest.raises(InvalidInput, match="^d.yaml: invalid YAML value: month must be in 1..12$"):
        parse_pack("issued: 2022-13-01\n", "d.yaml")


def test_python_object_tags_are_refused_not_executed() -> None:
    with pytest.raises(InvalidInput, match="invalid YAML"):
        parse_pack("id: !!python/object/apply:os.getcwd []\n", "evil.yaml")


def test_alias_bomb_is_refused_before_validation() -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 9)]
    with pytest.raises(InvalidInput, match="more than 100000 YAML nodes"):
        parse_pack("\n".join(lines), "bomb.yaml")


def test_pack_over_1_mib_is_refused(tmp_path: Path) -> None:
    text = "# " + "x" * MAX_PACK_BYTES + "\n"
    with pytest.raises(PayloadTooLarge, match="^big.yaml: "):
        parse_pack(text, "big.yaml")
    (tmp_path / "big.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(PayloadTooLarge, match="^big.yaml: "):
        load_pack(tmp_path / "big.yaml")


def test_pack_id_must_match_its_file_name(tmp_path: Path) -> None:
    pack = write_synthetic_pack(tmp_path, id="synthetic")
    renamed = pack.rename(tmp_path / "other.yaml")
    with pytest.raises(InvalidInput, match="^other.yaml: id: 'synthetic' does not match"):
        load_pack(renamed)


def test_pack_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    (tmp_path / "gbk.yaml").write_bytes("name: 青海省\n".encode("gbk"))
    with pytest.raises(InvalidInput, match="^gbk.yaml: not UTF-8 text"):
        load_pack(tmp_path / "gbk.yaml")


def test_missing_pack_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        load_pack(tmp_path / "absent.yaml")


# --- discovery -----------------------------------------------------------------------------------


def test_repository_directory_holds_exactly_the_shipped_packs() -> None:
    assert default_directories() == [PACK_DIR]
    assert sorted(load_directory(PACK_DIR)) == ["baoji", "qinghai"]


def test_twenty_department_pack_found_via_env_loads_without_code_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_synthetic_pack(tmp_path / "packs")
    monkeypatch.setenv("HUIQIAN_JURISDICTIONS_DIR", str(tmp_path / "packs"))
    packs = load_all()
    assert sorted(packs) == ["baoji", "qinghai", "synthetic"]
    synthetic = packs["synthetic"]
    assert len(synthetic.departments) == 20
    assert synthetic.department_codes() == [f"dept{n:02d}" for n in range(1, 21)]
    assert synthetic.measure("(一)").departments == tuple(synthetic.department_codes())


def test_env_variable_may_name_several_directories(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_synthetic_pack(tmp_path / "one", departments=3, id="alpha")
    write_synthetic_pack(tmp_path / "two", departments=25, id="beta")
    entries = [str(tmp_path / "one"), "", str(tmp_path / "two")]
    monkeypatch.setenv("HUIQIAN_JURISDICTIONS_DIR", os.pathsep.join(entries))
    packs = load_all()
    assert (len(packs["alpha"].departments), len(packs["beta"].departments)) == (3, 25)


def test_extra_directories_are_loaded_too(tmp_path: Path) -> None:
    write_synthetic_pack(tmp_path, id="gamma")
    assert "gamma" in load_all(extra_dirs=[tmp_path])


def test_same_id_in_two_directories_is_an_error_not_an_override(tmp_path: Path) -> None:
    write_synthetic_pack(tmp_path / "one")
    write_synthetic_pack(tmp_path / "two")
    with pytest.raises(InvalidInput, match="'synthetic' is already defined by .*one"):
        load_all(extra_dirs=[tmp_path / "one", tmp_path / "two"])


def test_naming_the_repository_directory_again_loads_each_pack_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUIQIAN_JURISDICTIONS_DIR", str(PACK_DIR))
    assert sorted(load_all()) == ["baoji", "qinghai"]


def test_missing_configured_directory_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUIQIAN_JURISDICTIONS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(InvalidInput, match="nowhere: jurisdiction directory does not exist"):
        load_all()


def test_directory_loading_ignores_schema_and_other_files(tmp_path: Path) -> None:
    write_synthetic_pack(tmp_path)
    (tmp_path / "schema.json").write_text("{}", encoding="utf-8")
    (tmp_path / "README.md").write_text("notes", encoding="utf-8")
    (tmp_path / ".#synthetic.yaml").write_text("editor lock", encoding="utf-8")
    assert list(load_directory(tmp_path)) == ["synthetic"]
