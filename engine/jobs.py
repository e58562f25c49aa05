"""The job worker: claim due jobs and apply each in one transaction.

A job is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
any number of workers on any number of machines share the table without
taking the same job; the job row stays locked by the open transaction that
applies it, so a worker that dies mid-job releases it at once (its
connection's transaction is rolled back) and another worker runs it again
from the start.  Marking the job done and advancing the instance commit
together: a job can run twice, but it advances its instance once.
SQLite serialises all writers, which gives the same guarantee on one machine.

Done jobs are kept for a while (what ran when) and then pruned by the workers:
``work_forever`` deletes ``done`` jobs that finished more than the retention
ago, a small batch at a time and at most once per interval, unless a full
batch shows that more are waiting.  Pending and failed jobs are never pruned.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta

from SpiffWorkflow.task import TaskState
from sqlalchemy import delete, select

from engine import events, log_context, steps, timer_starts
from engine.ambient import service_task_run
from engine.approvals import timeouts
from engine.context import EngineContext
from engine.models import Incident, Job
from engine.scheduler import SERVICE_TASK, TIMER
from engine.steps import TASK_DUE
from engine.unit_of_work import SqlUnitOfWork

log = logging.getLogger(__name__)
BACKOFF_BASE = timedelta(seconds=10)
DEFAULT_RETENTION = timedelta(days=7)
PRUNE_BATCH = 500
PRUNE_INTERVAL_SECONDS = 600.0


JobHandler = Callable[[EngineContext, SqlUnitOfWork, Job], None]
_handlers: dict[str, JobHandler] = {}


def register(kind: str, handler: JobHandler) -> None:
    """Teach workers a job kind; jobs of kinds nobody registered wait untouched."""
    _handlers[kind] = handler


def _claim(uow: SqlUnitOfWork, ctx: EngineContext) -> Job | None:
    query = (
        select(Job)
        .where(Job.state == "pending", Job.due_at <= ctx.clock(), Job.kind.in_(list(_handlers)))
        .order_by(Job.due_at, Job.id)
        .limit(1)
    )
    if not ctx.db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    return uow.session.scalar(query)


def _fire_timers(ctx: EngineContext, uow: SqlUnitOfWork, job: Job) -> None:
    instance = uow.instances.get(job.instance_id, for_update=True) if job.instance_id else None
    if instance is None or instance.status != "running":
        return
    run = steps.restore(ctx, uow, instance)

    def fire() -> None:
        run.workflow.refresh_timers()
        run.advance()

    steps.step(ctx, uow, "firing timers", fire)
    steps.save(ctx, uow, run, instance, waits_changed=True)
    uow.audit.record(
        "system", "timer", instance_id=instance.id, details={"due_at": str(job.due_at)}
    )


def _run_service_task(ctx: EngineContext, uow: SqlUnitOfWork, job: Job) -> None:
    instance = uow.instances.get(job.instance_id, for_update=True) if job.instance_id else None
    if instance is None or instance.status not in ("running", "error"):
        return
    run = steps.restore(ctx, uow, instance)
    task = run.task(job.payload["task_id"])
    if task is None or task.state != TaskState.STARTED:
        return  # already done, or cancelled meanwhile

    def execute() -> None:
        with service_task_run(task.id):
            task.run()
        run.advance()

    steps.step(ctx, uow, f"service task {task.task_spec.bpmn_id}", execute)
    instance.status = "running"
    steps.save(ctx, uow, run, instance, waits_changed=True)
    uow.audit.record(
        "system",
        "service_task",
        instance_id=instance.id,
        details={"element_id": task.task_spec.bpmn_id, "handler": task.task_spec.operation_name},
    )


def _task_due(ctx: EngineContext, uow: SqlUnitOfWork, job: Job) -> None:
    task = uow.tasks.get(job.payload["task_id"])
    if task is None or task.state != "open":
        return
    events.record_task(uow, "task.overdue", task, at=ctx.clock())
    uow.audit.record("system", "overdue", instance_id=task.instance_id, task_id=task.id)
    timeouts.apply(ctx, uow, task)


def _open_incident(ctx: EngineContext, uow: SqlUnitOfWork, job: Job) -> None:
    incident = Incident(
        instance_id=job.instance_id,
        job_id=job.id,
        kind=job.kind,
        element_id=job.payload.get("element_id"),
        error=job.last_error or "",
        attempts=job.attempts,
        created_at=ctx.clock(),
    )
    uow.session.add(incident)
    uow.session.flush()
    instance = uow.instances.get(job.instance_id, for_update=True) if job.instance_id else None
    if instance is not None and instance.status == "running":
        instance.status = "error"
        instance.error = incident.error
    events.record(
        uow,
        "incident.created",
        {
            "incident_id": incident.id,
            "instance_id": job.instance_id,
            "kind": job.kind,
            "error": incident.error,
            "attempts": incident.attempts,
            "links": {"incident": f"{events.API}/incidents/{incident.id}"},
        },
        at=incident.created_at,
    )


def run_one(ctx: EngineContext) -> bool:
    """Run the next due job, if any; True when one was run (or failed)."""
    with SqlUnitOfWork(ctx.db) as uow:
        job = _claim(uow, ctx)
        if job is None:
            return False
        now = ctx.clock()
        # Done before it runs, so that rescheduling inside the step leaves this job alone.
        job.state = "done"
        job.finished_at = now
        uow.flush()
        try:
            with (
                log_context.bound(job_id=job.id, job_kind=job.kind, instance_id=job.instance_id),
                uow.session.begin_nested(),
            ):
                _handlers[job.kind](ctx, uow, job)
        except Exception as exc:  # noqa: BLE001 - any failure is recorded on the job
            log.warning(
                "job %s (%s) failed: %s",
                job.id,
                job.kind,
                exc,
                extra={"job_id": job.id, "job_kind": job.kind, "instance_id": job.instance_id},
            )
            job.attempts += 1
            job.last_error = str(exc)[:2000]
            if job.attempts < job.max_attempts:
                job.state = "pending"
                job.finished_at = None
                job.due_at = now + BACKOFF_BASE * 2 ** (job.attempts - 1)
            else:
                job.state = "failed"
                _open_incident(ctx, uow, job)
        uow.commit()
        return True


register(TIMER, _fire_timers)
register(SERVICE_TASK, _run_service_task)
register(timer_starts.START_TIMER, timer_starts.fire)
register(TASK_DUE, _task_due)


def run_due_jobs(ctx: EngineContext, limit: int = 1000) -> int:
    """Run due jobs until none is left (or ``limit``); returns how many ran."""
    count = 0
    while count < limit and run_one(ctx):
        count += 1
    return count


def retention_days(days: float) -> timedelta | None:
    """``HUIQIAN_JOB_RETENTION_DAYS`` as a retention; 0 (or less) keeps done jobs for good."""
    return timedelta(days=days) if days > 0 else None


def prune_done_jobs(ctx: EngineContext, retention: timedelta, limit: int = PRUNE_BATCH) -> int:
    """Delete up to ``limit`` done jobs that finished before now − ``retention``; how many.

    One short transaction.  Only ``done`` jobs go: pending and failed ones (whose incident
    an admin may still retry) stay, whatever their age.  A job becomes due before it runs,
    so ``due_at`` is older than ``finished_at``; bounding both lets the ``(state, due_at)``
    index find the candidates.  On PostgreSQL, rows another worker is pruning are skipped.
    """
    cutoff = ctx.clock() - retention
    old = (
        select(Job.id)
        .where(Job.state == "done", Job.due_at < cutoff, Job.finished_at < cutoff)
        .limit(limit)
    )
    if not ctx.db.is_sqlite:
        old = old.with_for_update(skip_locked=True)
    with ctx.db.write_session() as session:
        # Two statements: as one, ``DELETE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP
        # LOCKED)``, PostgreSQL was seen deleting more than n rows.
        ids = list(session.scalars(old))
        if ids:
            session.execute(
                delete(Job).where(Job.id.in_(ids), Job.state == "done"),
                execution_options={"synchronize_session": False},
            )
        session.commit()
    return len(ids)


class Pruning:
    """When a worker prunes: once per ``interval_seconds``, or again at once after a full
    batch (a backlog is worked off a batch per loop, between the jobs)."""

    def __init__(
        self,
        retention: timedelta | None = DEFAULT_RETENTION,
        *,
        batch: int = PRUNE_BATCH,
        interval_seconds: float = PRUNE_INTERVAL_SECONDS,
    ) -> None:
        self.retention = retention
        self.batch = batch
        self.interval_seconds = interval_seconds
        self._next = 0.0  # time.monotonic() of the next prune; the first loop prunes

    def run_if_due(self, ctx: EngineContext) -> int:
        """Prune one batch if it is time to; returns how many jobs were deleted."""
        if self.retention is None or time.monotonic() < self._next:
            return 0
        deleted = 0
        try:
            deleted = prune_done_jobs(ctx, self.retention, self.batch)
        finally:
            backlog = deleted >= self.batch
            self._next = time.monotonic() + (0.0 if backlog else self.interval_seconds)
        if deleted:
            log.info("pruned %d done jobs", deleted, extra={"pruned_jobs": deleted})
        return deleted


def work_forever(
    ctx: EngineContext,
    stop: threading.Event,
    idle_seconds: float = 0.2,
    retention: timedelta | None = DEFAULT_RETENTION,
) -> None:
    """The worker loop of ``huiqian worker`` and of the demo's in-process worker.

    ``retention``: how long done jobs are kept (None: for good), see ``Pruning``.
    """
    pruning = Pruning(retention)
    while not stop.is_set():
        busy = 0
        try:
            busy = run_due_jobs(ctx, limit=100)
            busy += pruning.run_if_due(ctx)
        except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
            log.exception("worker iteration failed")
        if not busy:
            stop.wait(idle_seconds)
