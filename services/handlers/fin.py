"""Handlers of the finance department (fin): award amounts and reserving budget (BJ-7.3)."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from engine.ambient import current_session
from engine.decisions import evaluate_decision, sum_amounts
from engine.repository import DefinitionRepository
from services.handlers.registry import HandlerCall, HandlerRegistry

DEFAULT_FUND = "就业补助资金"
# Task data keys that identify the process instance, in order of preference.
INSTANCE_KEYS = ("business_key", "instance_id")


def register(registry: HandlerRegistry) -> None:
    registry.register("fin.budget_reservation")(budget_reservation)
    registry.register("fin.award_amount")(award_amount)


def award_amount(call: HandlerCall) -> dict[str, Any]:
    """The amount an application may be paid under award rule ``rule`` (a decision key).

    A BPMN business rule task names one fixed decision; an application chooses its
    rule, so this evaluates the latest deployed version of the chosen decision.
    Param ``inputs`` is the decision's variables, or a list of them for rules paid per
    person (QH-N3, QH-N4/N5), whose amounts are added up.  With ``requested_amount``
    the result is the lower of the request and the rule's amount (DOMAIN §3(e)).
    """
    rule = call.text("rule")
    definition = DefinitionRepository(current_session()).latest("dmn", rule)
    if definition is None:
        raise LookupError(f"award rule {rule!r} is not a deployed decision")
    inputs = call.params.get("inputs")
    people = inputs if isinstance(inputs, list) else [inputs]
    if not people or not all(isinstance(person, Mapping) for person in people):
        raise ValueError("parameter 'inputs' must be an object or a non-empty list of objects")
    results = [evaluate_decision(definition.xml, rule, person) for person in people]
    rows = [row for result in results for row in (result if isinstance(result, list) else [result])]
    if any(row and "amount" not in row for row in rows):
        raise ValueError(f"decision {rule!r} gives no 'amount': it is not an award rule")
    rule_amount = sum_amounts(rows)
    requested = call.params.get("requested_amount")
    amount = rule_amount if requested is None else min(rule_amount, _amount(requested))
    return {
        "rule": rule,
        "decision_version": definition.version,
        "eligible": any(row.get("eligible") is True for row in rows),
        "rule_amount": rule_amount,
        "amount": amount,
        "results": rows,
    }


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
