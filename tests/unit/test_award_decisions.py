"""Award tables (奖补) of DOMAIN §4, checked against every worked example of DOMAIN §5.

Every case runs the real file ``bpmn/decisions/<key>.dmn`` through ``evaluate_decision``,
so the sandboxed script engine evaluates each cell exactly as the API will.

Input contract shared by the Qinghai tables (stated in each table's description):
person groups are a list of codes in ``groups`` (``poverty_relieved`` 脱贫劳动力/脱贫人口,
``monitored`` 监测(帮扶)对象, ``employment_difficulty`` 就业困难人员, ``veteran`` 退役军人,
``unemployed_graduate`` 离校2年未就业高校毕业生); provinces are pinyin codes (``qinghai``).
Month rules take a start and an end date and count whole calendar months from the start
date with ``months_between`` (DOMAIN §7.14 design reading), so "1 month 25 days" is 1.
Group examples (QH-N3, QH-N4/N5) are evaluated per person and totalled with ``sum_amounts``.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from lxml import etree

from engine import decisions
from engine.decisions import DecisionInfo, evaluate_decision, parse_decisions, sum_amounts
from engine.errors import DefinitionRejected, NotFound, ScriptError

DECISIONS_DIR = Path(__file__).resolve().parents[2] / "bpmn" / "decisions"
DMN = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMNDI = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
AWARD_KEYS = (
    "bj_absorption_award",
    "qh_hire_reward",
    "qh_broker_subsidy",
    "qh_transport_subsidy",
    "qh_startup_subsidy",
    "qh_specialized_award",
    "qh_guaranteed_loan_ceiling",
)


def evaluate(key: str, **variables: Any) -> Any:
    return evaluate_decision((DECISIONS_DIR / f"{key}.dmn").read_bytes(), key, variables)


# --- BJ-N8 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed_workers", "county_rule_amount", "expected"),
    [
        pytest.param(500, 300_000, (True, 300_000), id="BJ-N8-case1-exactly-500"),
        pytest.param(499, 300_000, (False, 0), id="BJ-N8-case2-499"),
        pytest.param(1_200, 350_000, (True, 300_000), id="BJ-N8-case3-capped"),
        pytest.param(480, 200_000, (False, 0), id="BJ-N8-case4-650-absorbed-480-signed"),
        pytest.param(520, 150_000, (True, 150_000), id="BJ-N8-case5-county-amount"),
    ],
)
def test_bj_absorption_award(
    signed_workers: int, county_rule_amount: int, expected: tuple[bool, int]
) -> None:
    """Only workers with signed agreements count (case 4 passes 480, not 650)."""
    result = evaluate(
        "bj_absorption_award", signed_workers=signed_workers, county_rule_amount=county_rule_amount
    )
    assert (result["eligible"], result["amount"]) == expected


# --- QH-N3 -------------------------------------------------------------------------------


def hire(groups: list[str], **overrides: Any) -> dict[str, Any]:
    person = {
        "employer_type": "brand_enterprise",
        "new_job": True,
        "groups": groups,
        "contract_signed": True,
        "social_insurance_paid": True,
    }
    return {**person, **overrides}


@pytest.mark.parametrize(
    ("hires", "total", "with_social_insurance_subsidy"),
    [
        pytest.param(
            [hire(["veteran"]), hire(["veteran"]), hire(["poverty_relieved"])],
            3_000,
            3,
            id="QH-N3-case1-two-veterans-one-poverty-relieved",
        ),
        pytest.param(
            [
                hire(
                    ["unemployed_graduate"],
                    employer_type="assistance_workshop",
                    social_insurance_paid=False,
                )
            ],
            0,
            0,
            id="QH-N3-case2-social-insurance-not-paid",
        ),
        pytest.param([hire([])], 0, 0, id="QH-N3-case3-outside-listed-groups"),
        pytest.param([hire(["veteran"], new_job=False)], 0, 0, id="QH-N3-case4-existing-job"),
    ],
)
def test_qh_hire_reward(
    hires: list[dict[str, Any]], total: int, with_social_insurance_subsidy: int
) -> None:
    """Per hired person; the employer's reward is the sum (the 社保补贴 amount is not given)."""
    results = [evaluate("qh_hire_reward", **person) for person in hires]
    assert sum_amounts(results) == total
    assert sum(result["social_insurance_subsidy"] for result in results) == (
        with_social_insurance_subsidy
    )


# --- QH-N4/N5 ----------------------------------------------------------------------------


def picker(
    start: date, end: date, groups: tuple[str, ...] = (), hukou: str = "qinghai"
) -> dict[str, Any]:
    return {
        "hukou_province": hukou,
        "work_region": "haixi",
        "activity": "goji_picking",
        "work_start": start,
        "work_end": end,
        "groups": list(groups),
    }


MAY_1 = date(2023, 5, 1)


@pytest.mark.parametrize(
    ("people", "total"),
    [
        pytest.param(
            [picker(MAY_1, date(2023, 8, 1))] * 10, 500, id="QH-N4-case1-ten-for-3-months"
        ),
        pytest.param(
            [picker(MAY_1, date(2023, 9, 1))] * 6
            + [picker(MAY_1, date(2023, 9, 1), ("poverty_relieved",))] * 3
            + [picker(MAY_1, date(2023, 9, 1), ("poverty_relieved", "employment_difficulty"))],
            700,
            id="QH-N5-case2-bonus-once-per-person",
        ),
        pytest.param([picker(MAY_1, date(2023, 7, 1))], 50, id="QH-N4-case3-exactly-2-months"),
        pytest.param([picker(MAY_1, date(2023, 11, 1))], 0, id="QH-N4-case4-exactly-6-months"),
        pytest.param([picker(MAY_1, date(2023, 6, 26))], 0, id="QH-N4-case5-1-month-25-days"),
        pytest.param(
            [picker(MAY_1, date(2023, 8, 1), hukou="gansu")], 0, id="QH-N4-case6-gansu-hukou"
        ),
        pytest.param(
            [picker(date(2023, 3, 1), date(2023, 8, 30), ("monitored",))],
            100,
            id="QH-N5-case7-monitored-5-months-29-days",
        ),
    ],
)
def test_qh_broker_subsidy(people: list[dict[str, Any]], total: int) -> None:
    """Per person led, 2 ≤ whole months < 6; the broker's subsidy is the sum."""
    assert sum_amounts(evaluate("qh_broker_subsidy", **person) for person in people) == total


# --- QH-N6 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("groups", "province", "start", "end", "claimed", "expected"),
    [
        pytest.param(
            ["poverty_relieved"],
            "jiangsu",
            date(2023, 3, 1),
            date(2023, 6, 1),
            800,
            (True, 800),
            id="QH-N6-case1-exactly-3-months",
        ),
        pytest.param(
            ["monitored"],
            "jiangsu",
            date(2023, 3, 1),
            date(2023, 8, 1),
            1_500,
            (True, 1_000),
            id="QH-N6-case2-capped",
        ),
        pytest.param(
            ["poverty_relieved"],
            "jiangsu",
            date(2023, 3, 1),
            date(2023, 5, 30),
            800,
            (False, 0),
            id="QH-N6-case3-2-months-29-days",
        ),
        pytest.param(
            ["poverty_relieved"],
            "qinghai",
            date(2023, 3, 1),
            date(2023, 9, 1),
            800,
            (False, 0),
            id="QH-N6-case4-xining-in-province",
        ),
        pytest.param(
            [],
            "jiangsu",
            date(2023, 3, 1),
            date(2023, 9, 1),
            800,
            (False, 0),
            id="QH-N6-case5-ordinary-worker",
        ),
    ],
)
def test_qh_transport_subsidy(
    groups: list[str],
    province: str,
    start: date,
    end: date,
    claimed: int,
    expected: tuple[bool, int],
) -> None:
    """Cross-province (work_province other than qinghai) for 3 whole months or more."""
    result = evaluate(
        "qh_transport_subsidy",
        groups=groups,
        work_province=province,
        work_start=start,
        work_end=end,
        claimed_amount=claimed,
    )
    assert (result["eligible"], result["amount"]) == expected


# --- QH-N7 -------------------------------------------------------------------------------


def business(**overrides: Any) -> dict[str, Any]:
    fields = {
        "brand_entrepreneur": True,
        "business_type": "individual_business",
        "business_province": "qinghai",
        "licensed": True,
        "operating_normally": True,
        "registered_on": date(2022, 7, 1),
        "claimed_on": date(2023, 7, 1),
    }
    return {**fields, **overrides}


@pytest.mark.parametrize(
    ("applicant", "expected"),
    [
        pytest.param(business(), (True, 10_000), id="QH-N7-case1-exactly-1-year"),
        pytest.param(
            business(claimed_on=date(2023, 6, 30)), (False, 0), id="QH-N7-case2-one-day-short"
        ),
        pytest.param(
            business(
                business_type="small_micro_enterprise",
                business_province="gansu",
                registered_on=date(2021, 7, 1),
            ),
            (False, 0),
            id="QH-N7-case3-registered-in-gansu",
        ),
        pytest.param(
            business(registered_on=date(2021, 7, 1), operating_normally=False),
            (False, 0),
            id="QH-N7-case4-not-operating-normally",
        ),
    ],
)
def test_qh_startup_subsidy(applicant: dict[str, Any], expected: tuple[bool, int]) -> None:
    """1年以上 = 12 or more whole months from registration to the claim date."""
    result = evaluate("qh_startup_subsidy", **applicant)
    assert (result["eligible"], result["amount"]) == expected


# --- QH-N8/N9 ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recognition", "proposed", "expected"),
    [
        pytest.param("provincial_specialized", 500_000, (True, 500_000), id="QH-N8-case1-edge"),
        pytest.param("provincial_specialized", 600_000, (True, 500_000), id="QH-N8-case2-capped"),
        pytest.param(
            "national_little_giant", 1_200_000, (True, 1_000_000), id="QH-N9-case3-capped"
        ),
        pytest.param("none", 300_000, (False, 0), id="QH-N8-case4-not-recognized"),
    ],
)
def test_qh_specialized_award(recognition: str, proposed: int, expected: tuple[bool, int]) -> None:
    result = evaluate("qh_specialized_award", recognition=recognition, proposed_amount=proposed)
    assert (result["eligible"], result["amount"]) == expected


# --- QH-N10 to N12 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("borrower_type", "partners", "requested", "expected"),
    [
        pytest.param("individual", None, 150_000, (True, 150_000), id="QH-N10-case1-below"),
        pytest.param("individual", None, 250_000, (True, 200_000), id="QH-N10-case2-capped"),
        pytest.param("partnership", 2, None, (True, 440_000), id="QH-N11-case3-two"),
        pytest.param("partnership", 3, None, (True, 660_000), id="QH-N11-case4-three"),
        pytest.param("partnership", 10, None, (True, 2_200_000), id="QH-N11-case5-ten-edge"),
        pytest.param("partnership", 11, None, (True, 2_200_000), id="QH-N11-case6-eleven"),
        pytest.param("partnership", 15, None, (True, 2_200_000), id="QH-N11-case7-fifteen"),
        pytest.param("partnership", 4, None, (True, 880_000), id="QH-N11-case8-4-of-5-qualify"),
        pytest.param(
            "small_micro_enterprise", None, 5_000_000, (True, 4_000_000), id="QH-N12-case9-capped"
        ),
        pytest.param("individual", None, None, (True, 200_000), id="QH-N10-DR-no-request"),
        pytest.param("partnership", 3, 500_000, (True, 500_000), id="QH-N11-DR-below-request"),
        pytest.param("partnership", 1, None, (False, 0), id="QH-N11-DR-one-partner"),
    ],
)
def test_qh_guaranteed_loan_ceiling(
    borrower_type: str, partners: int | None, requested: int | None, expected: tuple[bool, int]
) -> None:
    """Ceiling = min(request, rule cap); requested_amount None asks for the rule cap itself."""
    result = evaluate(
        "qh_guaranteed_loan_ceiling",
        borrower_type=borrower_type,
        qualifying_partners=partners,
        requested_amount=requested,
    )
    assert (result["eligible"], result["ceiling"]) == expected


# --- the files themselves ----------------------------------------------------------------


@pytest.mark.parametrize("key", AWARD_KEYS)
def test_award_table_is_named_annotated_and_drawn(key: str) -> None:
    xml = (DECISIONS_DIR / f"{key}.dmn").read_bytes()
    info = parse_decisions(xml, f"{key}.dmn")[key]
    root = etree.fromstring(xml)
    rule_notes = root.xpath("//dmn:rule/dmn:description/text()", namespaces={"dmn": DMN})
    shapes = root.xpath(f"//dmndi:DMNShape[@dmnElementRef='{key}']", namespaces={"dmndi": DMNDI})
    assert any("\u4e00" <= char <= "\u9fff" for char in info.name)
    assert rule_notes and all(note.startswith(("BJ-N", "QH-N")) for note in rule_notes)
    assert len(shapes) == 1


def test_decision_info_lists_the_variables_to_send() -> None:
    xml = (DECISIONS_DIR / "qh_broker_subsidy.dmn").read_bytes()
    assert parse_decisions(xml)["qh_broker_subsidy"] == DecisionInfo(
        key="qh_broker_subsidy",
        name="青海劳务经纪人组织枸杞采摘补贴",
        inputs=("hukou_province", "work_region", "activity", "work_start", "work_end", "groups"),
        outputs=("eligible", "amount"),
    )


def test_iso_date_strings_count_like_dates() -> None:
    result = evaluate(
        "qh_transport_subsidy",
        groups=["poverty_relieved"],
        work_province="jiangsu",
        work_start="2023-03-01",
        work_end="2023-06-01",
        claimed_amount=800,
    )
    assert result == {"eligible": True, "amount": 800}


# --- errors, hit policies and caching, on small inline tables ----------------------------


def table_xml(
    rules: list[tuple[str, str]],
    hit_policy: str = "UNIQUE",
    table_attributes: str = "",
    decision_id: str = "probe",
) -> bytes:
    """One decision with input ``value`` and output ``result``; a rule is (entry, output)."""
    rows = "".join(
        f'<rule id="r{n}"><inputEntry id="r{n}_in"><text>{entry}</text></inputEntry>'
        f'<outputEntry id="r{n}_out"><text>{output}</text></outputEntry></rule>'
        for n, (entry, output) in enumerate(rules, 1)
    )
    return (
        f'<definitions xmlns="{DMN}" id="defs" name="probe" namespace="https://example.org">'
        f'<decision id="{decision_id}" name="probe">'
        f'<decisionTable id="table" hitPolicy="{hit_policy}" {table_attributes}>'
        '<input id="in"><inputExpression id="in_expr"><text>value</text></inputExpression></input>'
        f'<output id="out" name="result" />{rows}</decisionTable></decision></definitions>'
    ).encode()


def two_decisions() -> bytes:
    xml = table_xml([("-", "1")]).decode()
    decision = xml[xml.index("<decision ") : xml.index("</decision>") + len("</decision>")]
    return xml.replace(decision, decision + decision.replace('id="', 'id="second_')).encode()


def test_unknown_decision_key_is_not_found() -> None:
    with pytest.raises(NotFound):
        evaluate_decision(table_xml([("-", "1")]), "missing", {"value": 1})


def test_first_table_without_matching_rule_returns_empty_dict() -> None:
    assert evaluate_decision(table_xml([("&gt; 5", "1")], "FIRST"), "probe", {"value": 1}) == {}


def test_collect_returns_one_dict_per_matched_rule_in_order() -> None:
    xml = table_xml([("&gt; 0", "'a'"), ("&gt; 5", "'b'"), ("&gt; 1", "'c'")], "COLLECT")
    assert evaluate_decision(xml, "probe", {"value": 3}) == [{"result": "a"}, {"result": "c"}]
    assert evaluate_decision(xml, "probe", {"value": 0}) == []


def test_sum_amounts_counts_unmatched_results_as_zero() -> None:
    assert sum_amounts([{"amount": 50}, {}, {"amount": 100}]) == 150


def test_input_entry_that_is_not_an_expression_is_rejected_with_its_id() -> None:
    with pytest.raises(DefinitionRejected) as caught:
        parse_decisions(table_xml([("&gt;= &gt;= 5", "1")]), "bad.dmn")
    assert caught.value.extra["element_id"] == "r1_in"
    assert "bad.dmn" in caught.value.detail


def test_membership_entry_without_placeholder_is_rejected() -> None:
    """DMNEngine would glue it to the input: ``value`` + ``in (1, 2)`` is ``valuein (1, 2)``."""
    with pytest.raises(DefinitionRejected, match=r"\? in \(1, 2\)"):
        parse_decisions(table_xml([("in (1, 2)", "1")]))


def test_forbidden_dunder_attribute_is_refused_by_the_sandbox() -> None:
    xml = table_xml([("-", "value.__class__")])
    with pytest.raises((ScriptError, DefinitionRejected), match="__class__"):
        evaluate_decision(xml, "probe", {"value": 1})


def test_missing_variable_is_a_script_error_naming_it() -> None:
    with pytest.raises(ScriptError, match="name 'value' is not defined") as caught:
        evaluate_decision(table_xml([("&gt; 5", "1")]), "probe", {"other": 1})
    assert caught.value.extra["decision"] == "probe"


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        pytest.param(table_xml([("-", "1")], "PRIORITY"), "PRIORITY", id="unsupported-hit-policy"),
        pytest.param(
            table_xml([("-", "1")], "COLLECT", 'aggregation="SUM"'), "aggregation", id="aggregation"
        ),
        pytest.param(two_decisions(), "exactly one decision", id="two-decisions-in-one-file"),
        pytest.param(table_xml([("-", "1 +")]), "output entry", id="malformed-output"),
        pytest.param(table_xml([("-", "result = 1")]), "output entry", id="statement-output"),
        pytest.param(
            table_xml([("-", "1")]).replace(b'<rule id="r1">', b'<rule id="r1"><!-- note -->'),
            "comments",
            id="comment-in-rule",
        ),
        pytest.param(
            table_xml([("-", "1")]).replace(b'<rule id="r1">', b"<rule>"),
            "needs an id",
            id="rule-without-id",
        ),
        pytest.param(b"<definitions", "line 1", id="malformed-xml"),
    ],
)
def test_unsupported_or_malformed_table_is_rejected(xml: bytes, message: str) -> None:
    with pytest.raises(DefinitionRejected, match=message):
        parse_decisions(xml)


def test_repeated_evaluation_parses_the_file_once() -> None:
    xml = table_xml([("&gt; 5", "'big'"), ("&lt;= 5", "'small'")], decision_id="cached_probe")
    with mock.patch.object(decisions, "_compile_tree", wraps=decisions._compile_tree) as compile_:
        results = [evaluate_decision(xml, "cached_probe", {"value": n}) for n in range(10)]
    assert compile_.call_count == 1
    assert results[0] == {"result": "small"} and results[9] == {"result": "big"}
