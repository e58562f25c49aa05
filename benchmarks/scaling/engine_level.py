"""The co-review through Huiqian's command layer (``engine.commands``) on a real database.

``per_step`` starts one instance and completes its departments' tasks one by
one, as each department's officer, measuring every completion: time, bytes
sent in write statements, WAL written.  ``throughput`` completes the tasks of
many instances from several processes and threads at once.
"""

from __future__ import annotations

import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.scaling import databases, meters, workload
from benchmarks.scaling.databases import BenchDatabase
from benchmarks.scaling.isolation import run_parallel
from engine import commands


def _physical_meter(database: BenchDatabase) -> meters.SqliteWal | meters.PostgresWal:
    if database.backend == "sqlite":
        return meters.SqliteWal(database.url)
    return meters.PostgresWal(database.url)


def per_step(
    database: BenchDatabase | None,
    backend: str,
    postgres: str,
    n: int,
    budget_s: float,
    rounds: int,
    fill: int = 0,
) -> dict[str, Any]:
    """Time and bytes per completion of co-reviews of ``n`` departments (``StepLog`` rounds).

    ``database`` is an already prepared (and filled) one, or None for a fresh one.
    """
    if database is None:
        with databases.fresh(backend, postgres) as fresh:
            with tempfile.TemporaryDirectory() as tmp:
                databases.prepare(fresh, workload.write_data_dir(Path(tmp), n))
            return per_step(fresh, backend, postgres, n, budget_s, rounds, fill)
    with tempfile.TemporaryDirectory() as tmp:
        ctx = workload.engine_context(workload.write_data_dir(Path(tmp), n), database.url)
        statement_bytes = meters.StatementBytes(ctx.db.engine)
        physical = _physical_meter(database)
        rss_before = meters.reset_peak_rss()
        log = meters.StepLog(n, budget_s, rounds)
        busy = []
        try:
            while log.next_round():
                with meters.Stopwatch() as watch:
                    instance_id = workload.start_co_review(ctx)
                start_tables, overhead = statement_bytes.take()
                log.started(watch.wall - overhead)
                start_physical = physical.take()
                open_tasks = commands.list_open_tasks(ctx, instance_id)
                tasks = {task.department: task.id for task in open_tasks}
                assert len(tasks) == n, f"{len(tasks)} open tasks for {n} departments"
                answered = 0
                for department in workload.departments(n):
                    if not log.more():
                        break
                    with meters.Stopwatch() as watch:
                        commands.complete_task(
                            ctx, workload.officer(department), tasks[department], workload.ANSWER
                        )
                    by_table, overhead = statement_bytes.take()
                    if isinstance(physical, meters.PostgresWal):
                        busy.append(physical.other_active_backends())
                    log.add(
                        watch.wall - overhead,
                        watch.cpu - overhead,
                        sum(by_table.values()),
                        physical.take(),
                        by_table,
                    )
                    answered += 1
                if answered == n:
                    finished = commands.get_instance(ctx, workload.INTEGRATOR, instance_id)
                    assert finished.status == "completed", finished.status
            peak = meters.peak_rss_mb()
        finally:
            if isinstance(physical, meters.PostgresWal):
                physical.close()
            ctx.db.dispose()
    return {
        "mode": "engine",
        "backend": backend,
        "n": n,
        "fill": fill,
        "start_bytes": sum(start_tables.values()),
        "start_physical_bytes": start_physical,
        "other_active_backends_max": max(busy, default=0),
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        **log.summary(),
    }


def _complete_share(
    database_url: str,
    data_dir: str,
    queue: list[tuple[str, str]],
    threads: int,
    budget_s: float,
    go_at: float,
) -> dict[str, Any]:
    """One process's share of ``throughput``: ``threads`` threads take tasks off ``queue``."""
    ctx = workload.engine_context(Path(data_dir), database_url)
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    pending = list(reversed(queue))
    time.sleep(max(0.0, go_at - time.time()))
    began = time.time()

    def work() -> None:
        while time.time() - began < budget_s:
            with lock:
                if not pending:
                    return
                department, task_id = pending.pop()
            sent = time.perf_counter()
            try:
                commands.complete_task(ctx, workload.officer(department), task_id, workload.ANSWER)
            except Exception as exc:  # counted, not fatal: a benchmark reports what failed
                with lock:
                    errors.append(repr(exc))
                continue
            with lock:
                latencies.append(time.perf_counter() - sent)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    ended = time.time()
    ctx.db.dispose()
    return {"latencies": latencies, "errors": errors, "began": began, "ended": ended}


def throughput(
    backend: str,
    postgres: str,
    n: int,
    instances: int,
    processes: int,
    threads: int,
    budget_s: float,
) -> dict[str, Any]:
    """Completions per second with ``processes`` × ``threads`` concurrent callers.

    The tasks of ``instances`` co-reviews are queued round-robin over the
    instances, and each process gets whole instances, so concurrent callers
    mostly lock different instances, as departments answering many matters do.
    """
    with databases.fresh(backend, postgres) as database, tempfile.TemporaryDirectory() as tmp:
        data_dir = workload.write_data_dir(Path(tmp), n)
        databases.prepare(database, data_dir)
        ctx = workload.engine_context(data_dir, database.url)
        per_instance = []
        for _ in range(instances):
            instance_id = workload.start_co_review(ctx)
            per_instance.append(
                [(t.department, t.id) for t in commands.list_open_tasks(ctx, instance_id)]
            )
        ctx.db.dispose()
        shares = []
        for p in range(processes):
            mine = per_instance[p::processes]
            queue = [tasks[i] for i in range(n) for tasks in mine]
            shares.append(queue)
        go_at = time.time() + 1.0
        results = run_parallel(
            _complete_share,
            [
                {
                    "database_url": database.url,
                    "data_dir": str(data_dir),
                    "queue": queue,
                    "threads": threads,
                    "budget_s": budget_s,
                    "go_at": go_at,
                }
                for queue in shares
            ],
        )
    latencies = [s for result in results for s in result["latencies"]]
    errors = [e for result in results for e in result["errors"]]
    wall = max(r["ended"] for r in results) - min(r["began"] for r in results)
    return {
        "layer": "engine",
        "backend": backend,
        "n": n,
        "clients": f"{processes} proc × {threads} threads",
        "completions": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "seconds": wall,
        "per_s": len(latencies) / wall if wall else 0.0,
        "p50_ms": 1000 * meters.percentile(latencies, 0.50) if latencies else None,
        "p95_ms": 1000 * meters.percentile(latencies, 0.95) if latencies else None,
        "p99_ms": 1000 * meters.percentile(latencies, 0.99) if latencies else None,
    }
