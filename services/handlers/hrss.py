"""Handlers of the human resources and social security department (hrss), the lead (牵头)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone
from typing import Any

from engine.ambient import current_session
from services import brands
from services.handlers.brand_names import DEFAULT_SUFFIXES, NameCheck, check_brand_name
from services.handlers.registry import HandlerCall, HandlerRegistry

LIBRARY_STATUS = "in_library"  # 在库, BJ-3.4
# China Standard Time has no daylight saving, so a fixed offset needs no tz database.
CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")


def register(registry: HandlerRegistry) -> None:
    registry.register("hrss.name_check")(name_check)
    registry.register("hrss.brand_library_entry")(brand_library_entry)
    registry.register("hrss.brand_nominated")(brand_nominated)
    for action, to_status in _BRAND_MOVES.items():
        registry.register(f"hrss.brand_{action}")(_brand_mover(action, to_status))


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


# --- the brand resource library (services/brands.py) ---------------------------------------

# handler action → the status it moves a brand to; the lifecycle table says from where.
_BRAND_MOVES = {
    "added": brands.IN_LIBRARY,
    "not_admitted": brands.NOT_ADMITTED,
    "rectifying": brands.RECTIFYING,
    "exit_proposed": brands.EXIT_PROPOSED,
    "exited": brands.EXITED,
}
# Params that say who and where; every other param is the brand's data or the move's details.
_CONTEXT_PARAMS = frozenset({"actor", "jurisdiction", "brand_id", "name"})
_COUNT_PARAMS = ("workers", "agreements")


def brand_nominated(call: HandlerCall) -> dict[str, Any]:
    """Put a recommended brand (推荐, BJ-3.3) in the library as ``nominated``.

    Params: ``name`` (required), ``jurisdiction`` (default: the instance's), ``actor``
    (default: whoever completed the last user task) and any brand data such as
    ``region``, ``industry``, ``title`` (称谓), ``sponsor`` (培育创建单位), ``category``,
    ``workers`` and ``agreements`` (counts of people employed and with signed agreements).
    The record is written in the step's own transaction.
    """
    data = _extra_params(call)
    for key in _COUNT_PARAMS:
        value = data.get(key)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 0
        ):
            raise ValueError(
                f"parameter {key!r} must be a non-negative whole number, got {value!r}"
            )
    record = brands.nominate(
        brands.library(current_session()),
        name=call.text("name"),
        jurisdiction=_jurisdiction(call),
        data=data,
        actor=_actor(call),
        instance_id=_instance_id(call),
    )
    return {"brand_id": record.id, "status": record.status}


def _brand_mover(action: str, to_status: str) -> Any:
    def move(call: HandlerCall) -> dict[str, Any]:
        event = brands.move(
            brands.library(current_session()),
            call.text("brand_id"),
            to_status,
            action=action,
            jurisdiction=_jurisdiction(call),
            actor=_actor(call),
            instance_id=_instance_id(call),
            details=_extra_params(call),
        )
        return {"brand_id": event.record_id, "from_status": event.from_status, "status": to_status}

    move.__name__ = f"brand_{action}"
    move.__doc__ = (
        f"Move the brand of param ``brand_id`` to ``{to_status}``; other params (e.g. "
        "``reason``, ``opinion``) are kept as the history entry's details."
    )
    return move


def _extra_params(call: HandlerCall) -> dict[str, Any]:
    extra = {key: value for key, value in call.params.items() if key not in _CONTEXT_PARAMS}
    try:
        json.dumps(extra, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"brand data must be plain JSON: {exc}") from exc
    return extra


def _jurisdiction(call: HandlerCall) -> str:
    if "jurisdiction" in call.params:
        return call.text("jurisdiction")
    value = call.data.get("jurisdiction")
    if not isinstance(value, str) or not value:
        raise ValueError("no jurisdiction: start the instance for one or pass 'jurisdiction'")
    return value


def _actor(call: HandlerCall) -> str:
    if "actor" in call.params:
        return call.text("actor")
    completed_by = call.data.get("completed_by")
    return completed_by if isinstance(completed_by, str) and completed_by else "system"


def _instance_id(call: HandlerCall) -> str | None:
    value = call.data.get("instance_id")
    return value if isinstance(value, str) else None
