"""Co-review (会签) at N departments: Huiqian's engine and service against raw SpiffWorkflow.

Issue "Performance: incremental persistence, and benchmarks against raw
SpiffWorkflow".  In one run, on SQLite and PostgreSQL:

* raw     SpiffWorkflow in memory running bpmn/co_review.bpmn (the floor);
* naive   the same with SpiffWorkflow's own serializer, spec included, to JSON
          and back at every step (what a straightforward service does);
* engine  ``engine.commands.start_instance``/``complete_task`` on a real
          database, with an empty database and with many finished instances;
* database floor  pgbench replaying completion-shaped transactions (PostgreSQL; what
          the database allows before any Python runs);
* http    the service under ``gunicorn -w 2 services.wsgi:app`` with concurrent
          keep-alive clients; then a soak comparing the workers' RSS with start-up.

It prints time, bytes written and peak RSS per step, the ratios against raw,
throughput and p95 latency, and the issue's targets marked PASS or FAIL; the
full results go to benchmarks/results/co_review_scaling.json.  Method and
analysis: docs/performance.md.

    .venv/bin/python benchmarks/co_review_scaling.py [--sizes 19,100,500,1000]
        [--fill 10000] [--soak-instances 1000] [--step-budget 10] [--help]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scaling import (  # noqa: E402
    database_floor,
    databases,
    engine_level,
    http_level,
    inmemory,
    report,
    workload,
)
from benchmarks.scaling.isolation import run_isolated  # noqa: E402

LAYERS = ("raw", "naive", "engine", "throughput", "http")
BACKENDS = ("sqlite", "postgresql")
# pgbench's run of completion-shaped transactions (benchmarks/scaling/database_floor.py).
FLOOR_SECONDS = 10
RESULTS = workload.ROOT / "benchmarks" / "results" / "co_review_scaling.json"


def _numbers(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part]


def _names(allowed: tuple[str, ...]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        names = [part for part in text.split(",") if part]
        unknown = set(names) - set(allowed)
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown: {', '.join(sorted(unknown))}")
        return names

    return parse


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.RawTextHelpFormatter
    )
    add = parser.add_argument
    add("--layers", type=_names(LAYERS), default=list(LAYERS), help="default: all of them")
    add("--backends", type=_names(BACKENDS), default=list(BACKENDS), help="default: both")
    add(
        "--postgres",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="server URL; each run creates its own schema and drops it",
    )
    add(
        "--sizes",
        type=_numbers,
        default=[19, 100, 500, 1000],
        help="departments N for raw, naive and engine (default 19,100,500,1000)",
    )
    add(
        "--rounds",
        type=int,
        default=5,
        help="instances per configuration while they fit the budget; per-step medians over them",
    )
    add(
        "--step-budget",
        type=float,
        default=10.0,
        help="seconds of steps per configuration; past it the rest of N is projected",
    )
    add(
        "--fill",
        type=int,
        default=10_000,
        help="finished instances copied into the database for the 'many' runs "
        "(issue: 100000; 0 skips them)",
    )
    add("--fill-sizes", type=_numbers, default=[19], help="N measured on the filled database")
    add(
        "--throughput-instances",
        type=int,
        default=60,
        help="co-reviews whose tasks the engine-level throughput run completes",
    )
    add("--processes", type=int, default=2, help="engine-level throughput: processes")
    add("--threads", type=int, default=4, help="engine-level throughput: threads per process")
    add("--http-sizes", type=_numbers, default=[19], help="N for the HTTP runs")
    add("--http-instances", type=int, default=40, help="co-reviews per HTTP throughput run")
    add("--clients", type=int, default=8, help="HTTP client threads")
    add("--workers", type=int, default=2, help="gunicorn worker processes")
    add(
        "--soak-instances",
        type=int,
        default=1000,
        help="instances the service runs before its RSS is compared with start-up "
        "(issue: 10000; on PostgreSQL, or the only backend)",
    )
    add("--soak-departments", type=int, default=3, help="departments per soak instance")
    add("--soak-budget", type=float, default=90.0, help="seconds the soak may take at most")
    add("--output", type=Path, default=RESULTS)
    return parser.parse_args()


def _progress(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _measure(label: str, fn: Callable[..., dict[str, Any]], **kwargs: Any) -> dict[str, Any]:
    """``fn`` in a process of its own, with the machine's load before it noted."""
    load = os.getloadavg()[0]
    _progress(f"{label} (load {load:.1f})")
    result = run_isolated(fn, **kwargs)
    result["loadavg_1m_before"] = load
    return result


def _floors(args: argparse.Namespace) -> list[dict[str, Any]]:
    if "engine" not in args.layers and "throughput" not in args.layers:
        return []
    floors = []
    for backend in args.backends:
        floor = _measure(
            f"commit floor {backend}",
            databases.commit_floor,
            backend=backend,
            postgres=args.postgres,
        )
        if backend == "postgresql" and database_floor.pgbench():
            one_client = _measure(
                "database floor, one pgbench client",
                database_floor.throughput,
                postgres=args.postgres,
                clients=1,
                seconds=FLOOR_SECONDS,
            )
            floor["statements_p50_ms"] = one_client["p50_ms"]
        if backend == "sqlite":
            one_writer = _measure("database floor, sqlite3", database_floor.sqlite_step)
            floor["statements_p50_ms"] = one_writer["p50_ms"]
        floors.append(floor)
    return floors


def _steps(args: argparse.Namespace) -> list[dict[str, Any]]:
    steps = []
    for mode in ("raw", "naive"):
        if mode in args.layers:
            for n in args.sizes:
                steps.append(
                    _measure(
                        f"{mode} N={n}",
                        inmemory.run,
                        mode=mode,
                        n=n,
                        budget_s=args.step_budget,
                        rounds=args.rounds,
                    )
                )
    if "engine" not in args.layers:
        return steps
    for backend in args.backends:
        for n in args.sizes:
            steps.append(
                _measure(
                    f"engine {backend} N={n}",
                    engine_level.per_step,
                    database=None,
                    backend=backend,
                    postgres=args.postgres,
                    n=n,
                    budget_s=args.step_budget,
                    rounds=args.rounds,
                )
            )
        if args.fill:
            steps += _filled(args, backend)
    return steps


def _filled(args: argparse.Namespace, backend: str) -> list[dict[str, Any]]:
    steps = []
    with databases.fresh(backend, args.postgres) as database, tempfile.TemporaryDirectory() as tmp:
        data_dir = workload.write_data_dir(Path(tmp), 19)
        databases.prepare(database, data_dir)
        filled = _measure(
            f"fill {backend} with {args.fill:,} finished instances",
            databases.fill,
            database=database,
            data_dir=data_dir,
            copies=args.fill,
        )
        _progress(f"filled in {filled['seconds']:.0f} s: {filled['rows']}")
        for n in args.fill_sizes:
            steps.append(
                _measure(
                    f"engine {backend}+{args.fill:,} N={n}",
                    engine_level.per_step,
                    database=database,
                    backend=backend,
                    postgres=args.postgres,
                    n=n,
                    budget_s=args.step_budget,
                    rounds=args.rounds,
                    fill=args.fill + 1,
                )
            )
    return steps


def _throughput(args: argparse.Namespace) -> list[dict[str, Any]]:
    runs = []
    if "throughput" in args.layers:
        for backend in args.backends:
            runs.append(
                _measure(
                    f"engine-level throughput {backend}",
                    engine_level.throughput,
                    backend=backend,
                    postgres=args.postgres,
                    n=19,
                    instances=args.throughput_instances,
                    processes=args.processes,
                    threads=args.threads,
                    budget_s=6 * args.step_budget,
                )
            )
    if "throughput" in args.layers and "postgresql" in args.backends and database_floor.pgbench():
        clients = args.processes * args.threads
        runs.append(
            _measure(
                f"database floor, {clients} pgbench clients",
                database_floor.throughput,
                postgres=args.postgres,
                clients=clients,
                seconds=FLOOR_SECONDS,
            )
        )
    if "http" in args.layers:
        soak_backend = "postgresql" if "postgresql" in args.backends else args.backends[-1]
        for backend in args.backends:
            for n in args.http_sizes:
                runs.append(
                    _measure(
                        f"http {backend} N={n}",
                        http_level.run,
                        backend=backend,
                        postgres=args.postgres,
                        n=n,
                        instances=args.http_instances,
                        clients=args.clients,
                        workers=args.workers,
                        budget_s=6 * args.step_budget,
                        soak_instances=args.soak_instances if backend == soak_backend else 0,
                        soak_departments=min(args.soak_departments, n),
                        soak_budget_s=args.soak_budget,
                    )
                )
    return runs


def main() -> None:
    args = _arguments()
    # Stopped by SIGTERM, unwind like Ctrl-C: drop the schemas, stop gunicorn, remove files.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    began = time.time()
    results: dict[str, Any] = {
        "meta": {
            "started": datetime.now(UTC).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "arguments": {k: str(v) for k, v in vars(args).items()},
        },
    }
    results["floors"] = _floors(args)
    results["steps"] = _steps(args)
    results["throughput"] = _throughput(args)
    results["targets"] = report.targets(results)
    results["meta"]["seconds"] = time.time() - began
    print("\nPer step: complete one department's task (mean over the steps run)\n")
    print(report.step_table(results["steps"]))
    if results["floors"]:
        print("\nFloors: one durable commit, and raw SpiffWorkflow plus that commit, at N = 19\n")
        print(report.floor_table(results["floors"], results["steps"]))
    if any(s["mode"] == "engine" for s in results["steps"]):
        print("\nEngine: bytes sent in write statements per step, by table\n")
        print(report.bytes_table(results["steps"]))
    if results["throughput"]:
        print("\nThroughput: task completions, N-department co-reviews in parallel\n")
        print(report.throughput_table(results["throughput"]))
    http_runs = [r for r in results["throughput"] if r["layer"] == "http"]
    if http_runs:
        print("\nService RSS (gunicorn workers)\n")
        print(report.rss_table(http_runs))
    print("\nTargets (issue: incremental persistence)\n")
    print(report.target_table(results["targets"]))
    print(f"\n{results['meta']['seconds']:.0f} s; results in {args.output}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
