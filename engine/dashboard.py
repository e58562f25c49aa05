"""What the dashboard shows: each department's open and overdue tasks, and how long
co-reviews (会签) take from start to end.

Read-only.  Tasks are counted within ``commands.visible_departments``, so an officer
sees their own department's numbers only; lead times within the instances the
principal may see (an officer's own jurisdiction).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from engine.commands import visible_departments
from engine.context import EngineContext
from engine.identity import Principal, Role
from engine.repository import TaskQuery
from engine.unit_of_work import SqlUnitOfWork

CO_REVIEW = "co_review"
# Upper bounds (days, exclusive) of the lead-time buckets; the last bucket is open-ended.
BUCKET_BOUNDS = (1, 3, 7, 14, 30)


@dataclass(frozen=True)
class DepartmentLoad:
    jurisdiction: str | None
    department: str
    open: int
    overdue: int


@dataclass(frozen=True)
class Bucket:
    """Lead times from ``low`` (inclusive) to ``high`` days (exclusive; None = no limit)."""

    low: int
    high: int | None
    count: int


@dataclass(frozen=True)
class LeadTimes:
    process_key: str
    count: int
    buckets: tuple[Bucket, ...]
    median_days: float | None
    p90_days: float | None


@dataclass(frozen=True)
class Dashboard:
    departments: tuple[DepartmentLoad, ...]
    lead_times: LeadTimes
    now: datetime


def _buckets(days: list[float]) -> tuple[Bucket, ...]:
    lows = (0, *BUCKET_BOUNDS)
    highs: tuple[int | None, ...] = (*BUCKET_BOUNDS, None)
    return tuple(
        Bucket(low, high, sum(1 for d in days if d >= low and (high is None or d < high)))
        for low, high in zip(lows, highs, strict=True)
    )


def lead_times(durations: list[timedelta], process_key: str = CO_REVIEW) -> LeadTimes:
    """The distribution of run times in days: buckets, median and 90th percentile."""
    days = sorted(d.total_seconds() / 86400 for d in durations)
    if not days:
        return LeadTimes(process_key, 0, _buckets(days), None, None)
    p90 = statistics.quantiles(days, n=10, method="inclusive")[-1] if len(days) > 1 else days[0]
    return LeadTimes(
        process_key, len(days), _buckets(days), round(statistics.median(days), 1), round(p90, 1)
    )


def dashboard(ctx: EngineContext, principal: Principal) -> Dashboard:
    now = ctx.clock()
    departments = visible_departments(principal)
    jurisdiction = principal.jurisdiction if principal.role is Role.OFFICER else None
    with SqlUnitOfWork(ctx.db, read_only=True) as uow:
        open_tasks = uow.tasks.count_by_department(TaskQuery(departments=departments, state="open"))
        overdue = uow.tasks.count_by_department(
            TaskQuery(departments=departments, state="open", due_before=now)
        )
        runs = uow.instances.run_times(CO_REVIEW, jurisdiction)
    loads = tuple(
        DepartmentLoad(j, code, count, overdue.get((j, code), 0))
        for (j, code), count in sorted(
            open_tasks.items(), key=lambda item: (-item[1], item[0][0] or "", item[0][1])
        )
    )
    return Dashboard(loads, lead_times([ended - started for started, ended in runs]), now)
