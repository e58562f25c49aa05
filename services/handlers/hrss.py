"""Handlers of the human resources and social security department (hrss), the lead (牵头)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

from services.handlers.brand_names import DEFAULT_SUFFIXES, NameCheck, check_brand_name
from services.handlers.registry import HandlerCall, HandlerRegistry

LIBRARY_STATUS = "in_library"  # 在库, BJ-3.4
# China Standard Time has no daylight saving, so a fixed offset needs no tz database.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


def register(registry: HandlerRegistry) -> None:
    registry.register("hrss.name_check")(name_check)
    registry.register("hrss.brand_library_entry")(brand_library_entry)


def name_check(call: HandlerCall) -> dict[str, Any]:
    """Apply the naming rule (BJ-3.3) to params ``name``, ``region`` and ``industry``.

    Optional params: ``legacy_names`` (names exempt from the rule) and ``suffixes`` (the
    jurisdiction's accepted 称谓, defaulting to ``DEFAULT_SUFFIXES``).
    """
    name = call.params.get("name")
    if not isinstance(name, str):
        raise ValueError("parameter 'name' must be a string")
    check = _check(call, name)
    return {
        "ok": check.ok,
        "name": check.name,
        "reasons": [asdict(reason) for reason in check.reasons],
        "parts": {
            "region": check.region_part,
            "industry": check.industry_part,
            "suffix": check.suffix,
        },
    }


def brand_library_entry(call: HandlerCall) -> dict[str, Any]:
    """The record a recommended brand gets in the resource library (资源库, BJ-3.3 / QH-04).

    Params ``name``, ``jurisdiction``, ``region`` and ``industry`` are required; ``date``
    (ISO, default today in China) is the entry date.  With ``naming_rule`` true the name must
    pass the naming rule, otherwise the entry is refused; the jurisdiction pack decides.
    """
    name = call.text("name")
    if call.params.get("naming_rule") is True:
        check = _check(call, name)
        if not check.ok:
            problems = "; ".join(reason.message_zh for reason in check.reasons)
            raise ValueError(f"brand name {name!r} breaks the naming rule: {problems}")
    return {
        "name": name,
        "jurisdiction": call.text("jurisdiction"),
        "region": call.text("region"),
        "industry": call.text("industry"),
        "status": LIBRARY_STATUS,
        "date": _entry_date(call).isoformat(),
    }


def _check(call: HandlerCall, name: str) -> NameCheck:
    return check_brand_name(
        name,
        region=call.text("region"),
        industry=call.text("industry"),
        suffixes=call.texts("suffixes") or DEFAULT_SUFFIXES,
        legacy_names=call.texts("legacy_names"),
    )


def _entry_date(call: HandlerCall) -> date:
    if "date" not in call.params:
        return datetime.now(CHINA_STANDARD_TIME).date()
    return date.fromisoformat(call.text("date"))
