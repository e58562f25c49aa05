"""意见: the opinion history of an instance, one row per decision, in the order given.

Every completion writes one (its ``decision`` read from the form data), and so does every
approval operation that decides something about a task: transfer, delegation, return,
rejection, withdrawal, a change of signers, a timeout action.  A rejection and a return
need a reason; an approval may come without one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.errors import InvalidInput
from engine.models import HumanTask, Opinion
from engine.unit_of_work import SqlUnitOfWork

REJECT = "reject"
APPROVE = "approve"


def decision_of(data: dict[str, Any]) -> str | None:
    """The decision in a task's form data: ``decision``, or the boolean ``approved``."""
    decision = data.get("decision")
    if isinstance(decision, str):
        return decision
    approved = data.get("approved")
    if isinstance(approved, bool):
        return APPROVE if approved else REJECT
    return None


def text_of(data: dict[str, Any]) -> str:
    opinion = data.get("opinion")
    return opinion.strip() if isinstance(opinion, str) else ""


def require(opinion: str, why: str) -> str:
    """The opinion, stripped, or a 422 naming the field when it is blank."""
    text = opinion.strip()
    if not text:
        message = f"an opinion (意见) is required {why}"
        raise InvalidInput(message, errors=[{"field": "opinion", "message": message}])
    return text


def require_on_rejection(data: dict[str, Any]) -> None:
    """A completion that rejects must say why, whatever its form allows."""
    if decision_of(data) == REJECT:
        require(text_of(data), "to reject")


def record(
    uow: SqlUnitOfWork,
    *,
    instance_id: str,
    task: HumanTask | None,
    officer: str,
    action: str,
    at: datetime,
    opinion: str = "",
    decision: str | None = None,
    on_behalf_of: str | None = None,
) -> Opinion:
    row = Opinion(
        instance_id=instance_id,
        task_id=task.id if task else None,
        bpmn_id=task.bpmn_id if task else None,
        task_name=task.name if task else "",
        department=task.department if task else None,
        officer=officer,
        on_behalf_of=on_behalf_of,
        action=action,
        decision=decision,
        opinion=opinion,
        at=at,
    )
    uow.session.add(row)
    return row


def for_instance(uow: SqlUnitOfWork, instance_id: str) -> list[Opinion]:
    query = select(Opinion).where(Opinion.instance_id == instance_id).order_by(Opinion.id)
    return list(uow.session.scalars(query))
