"""Is the database consistent with itself?  The invariants every committed state keeps.

Each command commits state, task rows, jobs and audit together, so none of these
should ever be found; one that is points at a bug or at a hand-edited database.
``huiqian check`` prints them and exits 1.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.db import Database
from engine.models import HumanTask, Instance, Job
from engine.scheduler import TIMER

# An instance in ``error`` waits for an incident retry: it still has state, tasks and timers.
ACTIVE = ("running", "error")


def _running_without_state(session: Session) -> Iterator[str]:
    query = select(Instance.id, Instance.state).where(Instance.status.in_(ACTIVE))
    for instance_id, state in session.execute(query):
        if not state:
            yield f"active instance {instance_id} has no saved state"


def _open_tasks_of_ended_instances(session: Session) -> Iterator[str]:
    query = (
        select(HumanTask.id, Instance.id, Instance.status)
        .join(Instance, HumanTask.instance_id == Instance.id)
        .where(HumanTask.state == "open", Instance.status.not_in(ACTIVE))
        .order_by(Instance.id, HumanTask.id)
    )
    for task_id, instance_id, status in session.execute(query):
        yield f"open task {task_id} belongs to {status} instance {instance_id}"


def _pending_timers_of_ended_instances(session: Session) -> Iterator[str]:
    query = (
        select(Job.id, Instance.id, Instance.status)
        .join(Instance, Job.instance_id == Instance.id)
        .where(Job.kind == TIMER, Job.state == "pending", Instance.status.not_in(ACTIVE))
        .order_by(Job.id)
    )
    for job_id, instance_id, status in session.execute(query):
        yield f"pending timer job {job_id} belongs to {status} instance {instance_id}"


def _audit_chain(session: Session) -> Iterator[str]:
    result = audit.verify(session)
    if not result.ok:
        yield f"audit entry {result.broken_id}: {result.reason}"


CHECKS = (
    _running_without_state,
    _open_tasks_of_ended_instances,
    _pending_timers_of_ended_instances,
    _audit_chain,
)


def problems(db: Database) -> list[str]:
    """Every broken invariant, described for a person; empty when all hold."""
    with db.read_session() as session:
        return [problem for check in CHECKS for problem in check(session)]
