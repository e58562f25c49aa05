"""Service-task handler registry and the built-in department handlers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from engine.errors import NotFound
from services.handlers.hrss import CHINA_STANDARD_TIME
from services.handlers.registry import (
    HandlerCall,
    HandlerFailed,
    HandlerRegistry,
    default_registry,
)
from services.handlers.samr import ADVICE_REGISTER


@pytest.fixture
def registry() -> HandlerRegistry:
    return HandlerRegistry()


@pytest.fixture
def builtin() -> HandlerRegistry:
    return default_registry()


# --- registry -------------------------------------------------------------------------------


def test_call_passes_name_params_and_data_to_the_handler(registry: HandlerRegistry) -> None:
    seen: list[HandlerCall] = []

    @registry.register("edu.echo")
    def echo(call: HandlerCall) -> dict[str, Any]:
        seen.append(call)
        return {"got": call.params["x"]}

    result = registry.call("edu.echo", {"x": 1}, {"business_key": "k"})

    assert result == {"got": 1}
    assert (seen[0].name, dict(seen[0].params), dict(seen[0].data)) == (
        "edu.echo",
        {"x": 1},
        {"business_key": "k"},
    )
    assert "edu.echo" in registry
    assert "edu.other" not in registry
    assert registry.names() == frozenset({"edu.echo"})


def test_duplicate_registration_is_refused(registry: HandlerRegistry) -> None:
    registry.register("edu.echo")(lambda call: {})

    with pytest.raises(ValueError, match="already registered"):
        registry.register("edu.echo")(lambda call: {})


@pytest.mark.parametrize(
    "name", ["samr", "samr.", ".check", "SAMR.check", "1samr.check", "samr-x.check", "a.b.c", ""]
)
def test_malformed_handler_name_is_refused(registry: HandlerRegistry, name: str) -> None:
    with pytest.raises(ValueError, match="department"):
        registry.register(name)


def test_unknown_handler_is_not_found(registry: HandlerRegistry) -> None:
    with pytest.raises(NotFound) as raised:
        registry.call("samr.nothing", {}, {})

    assert raised.value.extra == {"handler": "samr.nothing"}
    with pytest.raises(NotFound):
        registry.department_of("samr.nothing")


def test_handler_exception_becomes_handler_failed_with_name_and_message(
    registry: HandlerRegistry,
) -> None:
    @registry.register("fin.broken")
    def broken(call: HandlerCall) -> dict[str, Any]:
        raise RuntimeError("ledger offline")

    with pytest.raises(HandlerFailed) as raised:
        registry.call("fin.broken", {}, {})

    failure = raised.value
    assert (failure.handler, failure.message) == ("fin.broken", "ledger offline")
    assert (failure.type_slug, failure.status) == ("handler-failed", 502)
    assert failure.extra == {"handler": "fin.broken", "message": "ledger offline"}
    assert isinstance(failure.__cause__, RuntimeError)


@pytest.mark.parametrize(
    "result",
    [["not", "a", "dict"], {"when": datetime(2024, 1, 1)}, {"amount": float("nan")}, None],
)
def test_result_that_is_not_a_json_object_is_handler_failed(
    registry: HandlerRegistry, result: Any
) -> None:
    registry.register("fin.odd")(lambda call: result)

    with pytest.raises(HandlerFailed) as raised:
        registry.call("fin.odd", {}, {})

    assert raised.value.handler == "fin.odd"


def test_handler_cannot_change_the_task_data(registry: HandlerRegistry) -> None:
    @registry.register("fin.meddle")
    def meddle(call: HandlerCall) -> dict[str, Any]:
        call.data["approved"] = True  # type: ignore[index]
        return {}

    data = {"approved": False}
    with pytest.raises(HandlerFailed):
        registry.call("fin.meddle", {}, data)

    assert data == {"approved": False}


def test_default_registry_has_the_builtin_handlers(builtin: HandlerRegistry) -> None:
    assert builtin.names() == frozenset(
        {
            "hrss.name_check",
            "hrss.brand_library_entry",
            "samr.trademark_check",
            "fin.budget_reservation",
            "fin.award_amount",
            "hrss.brand_nominated",
            "hrss.brand_added",
            "hrss.brand_not_admitted",
            "hrss.brand_rectifying",
            "hrss.brand_exit_proposed",
            "hrss.brand_exited",
            "hrss.remind_reviewers",
            "hrss.escalate_to_lead",
        }
    )
    assert builtin.department_of("samr.trademark_check") == "samr"
    assert builtin.department_of("hrss.brand_library_entry") == "hrss"


def test_each_default_registry_is_independent(builtin: HandlerRegistry) -> None:
    builtin.register("edu.extra")(lambda call: {})

    assert "edu.extra" not in default_registry()


# --- hrss.name_check ------------------------------------------------------------------------


def test_name_check_reports_parts_of_a_good_name(builtin: HandlerRegistry) -> None:
    result = builtin.call(
        "hrss.name_check", {"name": "宝鸡面点师", "region": "宝鸡市", "industry": "面点"}, {}
    )

    assert result == {
        "ok": True,
        "name": "宝鸡面点师",
        "reasons": [],
        "parts": {"region": "宝鸡", "industry": "面点", "suffix": "师"},
    }


def test_name_check_returns_reasons_as_plain_dicts(builtin: HandlerRegistry) -> None:
    result = builtin.call(
        "hrss.name_check", {"name": "宝鸡面点", "region": "宝鸡市", "industry": "面点"}, {}
    )

    assert result["ok"] is False
    assert [reason["code"] for reason in result["reasons"]] == ["missing_suffix"]
    assert set(result["reasons"][0]) == {"code", "message_zh", "message_en"}


def test_name_check_honours_legacy_names_and_configured_suffixes(
    builtin: HandlerRegistry,
) -> None:
    base = {"region": "宝鸡市", "industry": "小吃"}

    legacy = builtin.call(
        "hrss.name_check", {**base, "name": "西岐名吃", "legacy_names": ["西岐名吃"]}, {}
    )
    custom = builtin.call("hrss.name_check", {**base, "name": "宝鸡小吃师", "suffixes": ["匠"]}, {})

    assert legacy["ok"] is True
    assert [reason["code"] for reason in legacy["reasons"]] == ["legacy_override"]
    assert [reason["code"] for reason in custom["reasons"]] == ["missing_suffix"]


@pytest.mark.parametrize(
    "params",
    [
        {"name": "宝鸡面点师", "industry": "面点"},
        {"name": 42, "region": "宝鸡市", "industry": "面点"},
        {"name": "宝鸡面点师", "region": "宝鸡市", "industry": "面点", "legacy_names": "西岐名吃"},
    ],
)
def test_name_check_with_bad_params_fails(builtin: HandlerRegistry, params: dict) -> None:
    with pytest.raises(HandlerFailed) as raised:
        builtin.call("hrss.name_check", params, {})

    assert raised.value.handler == "hrss.name_check"


# --- hrss.brand_library_entry ---------------------------------------------------------------

NOMINATION = {"name": "宝鸡面点师", "jurisdiction": "BJ", "region": "宝鸡市", "industry": "面点"}


def test_library_entry_returns_the_record_it_would_add(builtin: HandlerRegistry) -> None:
    result = builtin.call("hrss.brand_library_entry", {**NOMINATION, "date": "2024-03-01"}, {})

    assert result == {**NOMINATION, "status": "in_library", "date": "2024-03-01"}


def test_library_entry_defaults_to_today_in_china(builtin: HandlerRegistry) -> None:
    result = builtin.call("hrss.brand_library_entry", NOMINATION, {})

    assert result["date"] == datetime.now(CHINA_STANDARD_TIME).date().isoformat()


def test_library_entry_applies_the_naming_rule_only_when_asked(builtin: HandlerRegistry) -> None:
    qinghai = {"name": "青绣", "jurisdiction": "QH", "region": "青海省", "industry": "刺绣"}

    accepted = builtin.call("hrss.brand_library_entry", qinghai, {})
    with pytest.raises(HandlerFailed) as raised:
        builtin.call("hrss.brand_library_entry", {**qinghai, "naming_rule": True}, {})

    assert accepted["status"] == "in_library"
    assert "名称应以称谓结尾" in raised.value.message


@pytest.mark.parametrize(
    "params",
    [
        {**NOMINATION, "jurisdiction": " "},
        {key: value for key, value in NOMINATION.items() if key != "industry"},
        {**NOMINATION, "date": "2024-13-01"},
    ],
)
def test_library_entry_refuses_incomplete_nomination(
    builtin: HandlerRegistry, params: dict
) -> None:
    with pytest.raises(HandlerFailed):
        builtin.call("hrss.brand_library_entry", params, {})


# --- samr.trademark_check -------------------------------------------------------------------


@pytest.mark.parametrize(
    "params", [{}, {"registration_number": None}, {"registration_number": " "}]
)
def test_absent_trademark_advises_registration(builtin: HandlerRegistry, params: dict) -> None:
    result = builtin.call("samr.trademark_check", params, {})

    assert result == {
        "declared": False,
        "registered": False,
        "number": None,
        "advice_zh": ADVICE_REGISTER,
    }


@pytest.mark.parametrize(
    ("declared", "number"),
    [
        ("12345678", "12345678"),
        (1234567, "1234567"),
        ("第 12345678 号", "12345678"),
        ("１２３４５６７８", "12345678"),
    ],
)
def test_well_formed_registration_number_counts_as_registered(
    builtin: HandlerRegistry, declared: str | int, number: str
) -> None:
    result = builtin.call("samr.trademark_check", {"registration_number": declared}, {})

    assert result == {"declared": True, "registered": True, "number": number, "advice_zh": None}


@pytest.mark.parametrize("declared", ["123456", "123456789", "12345678A", "TM12345678"])
def test_malformed_registration_number_asks_to_check_it(
    builtin: HandlerRegistry, declared: str
) -> None:
    result = builtin.call("samr.trademark_check", {"registration_number": declared}, {})

    assert (result["declared"], result["registered"]) == (True, False)
    assert "7至8位数字" in result["advice_zh"]


def test_registration_number_of_wrong_type_fails(builtin: HandlerRegistry) -> None:
    with pytest.raises(HandlerFailed):
        builtin.call("samr.trademark_check", {"registration_number": True}, {})


# --- fin.budget_reservation -----------------------------------------------------------------


def reserve(registry: HandlerRegistry, params: dict, data: dict | None = None) -> dict[str, Any]:
    return registry.call("fin.budget_reservation", params, data or {"business_key": "BJ-2024-7"})


def test_reservation_defaults_to_the_employment_subsidy_fund(builtin: HandlerRegistry) -> None:
    result = reserve(builtin, {"amount": 300000})

    assert (result["reserved"], result["fund"]) == (300000, "就业补助资金")
    assert result["reference"].startswith("FIN-")
    assert len(result["reference"]) == 20


def test_reservation_reference_is_deterministic(builtin: HandlerRegistry) -> None:
    first = reserve(builtin, {"amount": 1200})

    assert reserve(builtin, {"amount": 1200.0})["reference"] == first["reference"]
    assert reserve(builtin, {"amount": 1200.5})["reference"] != first["reference"]
    other_instance = reserve(builtin, {"amount": 1200}, {"business_key": "BJ-2024-8"})
    assert other_instance["reference"] != first["reference"]
    assert reserve(builtin, {"amount": 1200, "fund": "专项资金"})["reference"] != first["reference"]


def test_reservation_falls_back_to_the_instance_id(builtin: HandlerRegistry) -> None:
    by_id = reserve(builtin, {"amount": 0}, {"instance_id": 41})
    by_key = reserve(builtin, {"amount": 0}, {"business_key": "41", "instance_id": 99})

    assert by_id["reserved"] == 0
    assert by_id["reference"] == by_key["reference"]


@pytest.mark.parametrize("amount", [-1, "100", True, None, float("nan"), float("inf"), 0.001])
def test_invalid_amount_fails(builtin: HandlerRegistry, amount: Any) -> None:
    with pytest.raises(HandlerFailed) as raised:
        reserve(builtin, {"amount": amount})

    assert raised.value.handler == "fin.budget_reservation"


def test_reservation_without_instance_key_fails(builtin: HandlerRegistry) -> None:
    with pytest.raises(HandlerFailed, match="instance key"):
        reserve(builtin, {"amount": 10}, {"applicant": "某公司"})
