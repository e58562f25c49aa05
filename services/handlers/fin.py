"""Handlers of the finance department (fin): reserving subsidy budget (BJ-7.3)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from services.handlers.registry import HandlerCall, HandlerRegistry

DEFAULT_FUND = "就业补助资金"
# Task data keys that identify the process instance, in order of preference.
INSTANCE_KEYS = ("business_key", "instance_id")


def register(registry: HandlerRegistry) -> None:
    registry.register("fin.budget_reservation")(budget_reservation)


def budget_reservation(call: HandlerCall) -> dict[str, Any]:
    """Reserve param ``amount`` (yuan) from param ``fund`` for this instance.

    The reference is derived from the instance key, fund and amount, so a retried service task
    produces the same reference and the finance side can recognise the duplicate.
    """
    amount = _amount(call.params.get("amount"))
    fund = call.text("fund") if "fund" in call.params else DEFAULT_FUND
    seed = f"{_instance_key(call.data)}|{fund}|{Decimal(str(amount)):.2f}"
    reference = "FIN-" + hashlib.sha256(seed.encode()).hexdigest()[:16].upper()
    return {"reserved": amount, "fund": fund, "reference": reference}


def _amount(value: object) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"amount must be a number of yuan, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"amount must be a non-negative finite number of yuan, got {value!r}")
    if Decimal(str(value)).as_tuple().exponent < -2:
        raise ValueError(f"amount {value!r} has fractions of a fen (more than two decimals)")
    return value


def _instance_key(data: Mapping[str, Any]) -> str:
    for key in INSTANCE_KEYS:
        value = data.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    raise ValueError(f"task data has no instance key ({' or '.join(INSTANCE_KEYS)})")
