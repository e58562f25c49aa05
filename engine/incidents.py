"""Incidents: failed jobs that wait for an admin, and retrying them."""

from __future__ import annotations

from sqlalchemy import select

from engine.context import EngineContext
from engine.errors import Conflict, Forbidden, NotFound
from engine.identity import Principal, Role
from engine.models import Incident, Job
from engine.repository import Page, paginate
from engine.unit_of_work import SqlUnitOfWork


def _require_admin(principal: Principal) -> None:
    if principal.role is not Role.ADMIN:
        raise Forbidden("incidents are handled by admins")


def list_incidents(
    ctx: EngineContext,
    principal: Principal,
    page: Page,
    *,
    open_only: bool = True,
    instance_id: str | None = None,
) -> tuple[list[Incident], int]:
    _require_admin(principal)
    query = select(Incident).order_by(Incident.created_at.desc(), Incident.id.desc())
    if open_only:
        query = query.where(Incident.resolved_at.is_(None))
    if instance_id:
        query = query.where(Incident.instance_id == instance_id)
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        return paginate(uow.session, query, page)


def get_incident(ctx: EngineContext, principal: Principal, incident_id: int) -> Incident:
    _require_admin(principal)
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        incident = uow.session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found")
    return incident


def retry_incident(ctx: EngineContext, principal: Principal, incident_id: int) -> Incident:
    """Give the failed job a fresh set of attempts, due now; the incident is resolved."""
    _require_admin(principal)
    with SqlUnitOfWork(ctx.db) as uow:
        incident = uow.session.get(Incident, incident_id, with_for_update=not ctx.db.is_sqlite)
        if incident is None:
            raise NotFound(f"incident {incident_id} not found")
        if incident.resolved_at is not None:
            raise Conflict(f"incident {incident_id} was already resolved")
        job = uow.session.get(Job, incident.job_id) if incident.job_id else None
        if job is None:
            raise Conflict("the failed job no longer exists")
        now = ctx.clock()
        job.state = "pending"
        job.attempts = 0
        job.due_at = now
        job.finished_at = None
        incident.resolved_at = now
        incident.resolved_by = principal.username
        if incident.instance_id:
            instance = uow.instances.get(incident.instance_id, for_update=True)
            if instance is not None and instance.status == "error":
                instance.status = "running"
                instance.error = None
        uow.audit.record(
            principal.username,
            "incident_retry",
            instance_id=incident.instance_id,
            details={"incident_id": incident.id, "job_id": job.id},
        )
        uow.commit()
        return incident
