"""The tables the benchmark prints, the ratios against raw, and the issue's targets.

Ratios of per-step times compare the same steps: when a configuration ran out
of its time budget after k of N steps, it is compared with raw's first k steps
(each step costs more than the one before, as the answers accumulate).
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

ISSUE_FILL = 100_000
ISSUE_SOAK = 10_000


def _mean_ratio(
    slow: dict[str, Any], fast: dict[str, Any], average: Any = statistics.fmean
) -> float | None:
    k = min(len(slow["step_s"]), len(fast["step_s"]))
    if not k:
        return None
    return average(slow["step_s"][:k]) / average(fast["step_s"][:k])


def _find(steps: list[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    return next((s for s in steps if all(s.get(k) == v for k, v in match.items())), None)


def _fmt(value: float | None, spec: str = ",.2f") -> str:
    return "—" if value is None else format(value, spec)


def _times(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}×"


def _table(header: list[str], rows: Iterable[list[str]], left: int = 1) -> str:
    """Aligned plain-text table; the first ``left`` columns are text, the rest numbers."""
    rows = [header, *rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for number, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i < left else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _db(step: dict[str, Any]) -> str:
    if step["backend"] == "memory":
        return "—"
    return step["backend"] + (f"+{step['fill']:,}" if step["fill"] else "")


def step_table(steps: list[dict[str, Any]]) -> str:
    rows = []
    for step in steps:
        raw = _find(steps, mode="raw", n=step["n"])
        ratio = _mean_ratio(step, raw) if raw else None
        e2e_ratio = step["end_to_end_s"] / raw["end_to_end_s"] if raw else None
        estimated = "" if step["complete"] else " est."
        physical = step.get("median_step_physical_bytes")
        rows.append(
            [
                step["mode"],
                _db(step),
                f"{step['n']:,}",
                f"{step['steps']}/{step['planned_steps']}",
                _fmt(1000 * step["start_s"], ",.1f"),
                _fmt(1000 * step["mean_step_s"]),
                _fmt(1000 * step["mean_step_cpu_s"]),
                _times(ratio),
                _fmt(step["mean_step_bytes"], ",.0f"),
                _fmt(physical, ",.0f"),
                _fmt(step["end_to_end_s"], ",.2f") + estimated,
                _times(e2e_ratio),
                _fmt(step["peak_rss_mb"], ",.0f"),
            ]
        )
    header = [
        "layer",
        "database",
        "N",
        "steps",
        "start ms",
        "ms/step",
        "cpu ms",
        "÷raw",
        "bytes/step",
        "WAL/step",
        "end to end s",
        "÷raw",
        "peak RSS MB",
    ]
    return _table(header, rows, left=2)


def floor_table(floors: list[dict[str, Any]], steps: list[dict[str, Any]]) -> str:
    raw = _find(steps, mode="raw", n=19)
    rows = []
    for floor in floors:
        engine = _find(steps, mode="engine", backend=floor["backend"], n=19, fill=0)
        raw_ms = 1000 * raw["mean_step_s"] if raw else None
        best = raw_ms + floor["p50_ms"] if raw_ms is not None else None
        engine_ms = 1000 * engine["mean_step_s"] if engine else None
        statements = floor.get("statements_p50_ms")
        with_statements = raw_ms + statements if raw_ms is not None and statements else None
        rows.append(
            [
                floor["backend"],
                _fmt(floor["p50_ms"], ",.2f"),
                _fmt(raw_ms, ",.2f"),
                _fmt(best, ",.2f"),
                _times(best / raw_ms if best and raw_ms else None),
                _fmt(statements, ",.2f"),
                _times(with_statements / raw_ms if with_statements and raw_ms else None),
                _fmt(engine_ms, ",.2f"),
                _times(engine_ms / best if engine_ms and best else None),
            ]
        )
    header = [
        "database",
        "commit p50 ms",
        "raw ms/step",
        "raw + commit ms",
        "÷raw",
        "step's SQL p50 ms",
        "raw + SQL ÷raw",
        "engine ms/step",
        "engine ÷ (raw + commit)",
    ]
    return _table(header, rows, left=1)


def bytes_table(steps: list[dict[str, Any]]) -> str:
    engine = [s for s in steps if s["mode"] == "engine" and not s["fill"]]
    tables = sorted({t for s in engine for t in s["step_bytes_by_table"]})
    rows = [
        [s["backend"], f"{s['n']:,}"]
        + [_fmt(s["step_bytes_by_table"].get(t, 0), ",.0f") for t in tables]
        + [_fmt(s["mean_step_bytes"], ",.0f")]
        for s in engine
    ]
    return _table(["database", "N", *tables, "total"], rows, left=1)


def throughput_table(runs: list[dict[str, Any]]) -> str:
    rows = [
        [
            r["layer"],
            r["backend"],
            r["clients"],
            f"{r['n']:,}",
            f"{r['completions']:,}",
            f"{r['errors']:,}",
            _fmt(r["per_s"], ",.1f"),
            _fmt(r["p50_ms"], ",.1f"),
            _fmt(r["p95_ms"], ",.1f"),
            _fmt(r["p99_ms"], ",.1f"),
        ]
        for r in runs
    ]
    header = [
        "layer",
        "database",
        "callers",
        "N",
        "completions",
        "errors",
        "per s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
    ]
    return _table(header, rows, left=3)


def rss_growth(run: dict[str, Any]) -> float:
    rss = run["rss"]
    return max(rss["final_mb"].get(pid, 0.0) - mb for pid, mb in rss["startup_mb"].items())


def rss_table(runs: list[dict[str, Any]]) -> str:
    rows = []
    for run in runs:
        rss = run["rss"]
        for pid, startup in rss["startup_mb"].items():
            rows.append(
                [
                    run["backend"],
                    f"worker {pid}",
                    f"{rss['instances_run']:,}",
                    _fmt(startup, ",.1f"),
                    _fmt(rss["after_throughput_mb"].get(pid), ",.1f"),
                    _fmt(rss["final_mb"].get(pid), ",.1f"),
                    _fmt(rss["final_mb"].get(pid, 0.0) - startup, "+,.1f"),
                ]
            )
    header = [
        "database",
        "process",
        "instances run",
        "start-up MB",
        "after throughput MB",
        "final MB",
        "growth MB",
    ]
    return _table(header, rows, left=2)


def _target(name: str, measured: str, passed: bool | None, note: str = "") -> dict[str, Any]:
    verdict = "n/a" if passed is None else ("PASS" if passed else "FAIL")
    return {"target": name, "measured": measured, "verdict": verdict, "note": note}


def _engine_backends(steps: list[dict[str, Any]]) -> list[str]:
    return sorted({s["backend"] for s in steps if s["mode"] == "engine"})


def _ratio_targets(
    steps: list[dict[str, Any]], floors: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    found = []
    raw = _find(steps, mode="raw", n=19)
    if raw is None:
        return []
    for backend in _engine_backends(steps):
        engine = _find(steps, mode="engine", backend=backend, n=19, fill=0)
        ratio = _mean_ratio(engine, raw) if engine else None
        floor = _find(floors, backend=backend)
        note = ""
        if floor:
            raw_ms = 1000 * raw["mean_step_s"]
            note = (
                f"one commit alone: raw + commit = {(raw_ms + floor['p50_ms']) / raw_ms:,.1f}× raw"
            )
            if floor.get("statements_p50_ms"):
                with_sql = (raw_ms + floor["statements_p50_ms"]) / raw_ms
                client = "pgbench" if backend == "postgresql" else "sqlite3"
                note += f"; the step's SQL alone ({client}): {with_sql:,.1f}× raw"
        found.append(
            _target(
                f"engine per-step time ≤ 3× raw at N = 19 ({backend})",
                _times(ratio),
                None if ratio is None else ratio <= 3,
                note,
            )
        )
    return found


def _bytes_targets(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for backend in _engine_backends(steps):
        empty = [s for s in steps if s["mode"] == "engine" and s["backend"] == backend]
        empty = sorted((s for s in empty if not s["fill"]), key=lambda s: s["n"])
        small = _find(empty, n=19)
        if not small or empty[-1]["n"] <= 19:
            continue
        largest = empty[-1]
        # Over all N steps: a run cut short by its budget saw only the early, smaller ones.
        small_bytes = small["projected_mean_step_bytes"]
        large_bytes = largest["projected_mean_step_bytes"]
        growth = large_bytes / small_bytes
        notes = []
        if largest["n"] != 1000:
            notes.append(f"largest N measured is {largest['n']:,}")
        if not largest["complete"]:
            notes.append(f"projected from {largest['steps']} of {largest['planned_steps']} steps")
        found.append(
            _target(
                f"bytes written per step ≤ 2× from N = 19 to N = 1,000 ({backend})",
                f"{small_bytes:,.0f} → {large_bytes:,.0f} B ({growth:,.1f}×)",
                growth <= 2 if largest["n"] == 1000 else None,
                "; ".join(notes),
            )
        )
    return found


def _naive_targets(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    naive = _find(steps, mode="naive", n=1000)
    for backend in _engine_backends(steps):
        engine = _find(steps, mode="engine", backend=backend, n=1000, fill=0)
        if not (engine and naive):
            continue
        speedup = naive["end_to_end_s"] / engine["end_to_end_s"]
        projected = not (engine["complete"] and naive["complete"])
        found.append(
            _target(
                f"N = 1,000 end to end ≥ 10× faster than naive ({backend})",
                f"naive {naive['end_to_end_s']:,.1f} s ÷ engine {engine['end_to_end_s']:,.1f} s"
                f" = {speedup:,.2f}×",
                speedup >= 10,
                "projected from the steps run within the budget" if projected else "",
            )
        )
    return found


def _fill_targets(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for filled in [s for s in steps if s["mode"] == "engine" and s["fill"]]:
        empty = _find(steps, mode="engine", backend=filled["backend"], n=filled["n"], fill=0)
        if empty is None:
            continue
        # Medians: two runs of the same N on one machine differ mostly by outliers.
        ratio = _mean_ratio(filled, empty, statistics.median)
        short = filled["fill"] < ISSUE_FILL
        found.append(
            _target(
                f"per-step time with many instances in the database ≤ 1.5× empty, "
                f"N = {filled['n']} ({filled['backend']})",
                f"{_fmt(ratio, '.2f')}× (medians) with {filled['fill']:,} instances",
                None if ratio is None else ratio <= 1.5,
                f"the issue asks {ISSUE_FILL:,} (--fill {ISSUE_FILL})" if short else "",
            )
        )
    return found


def _throughput_targets(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    database = next((r for r in runs if r["layer"] == "database floor"), None)
    for run in runs:
        if run["backend"] != "postgresql" or run["layer"] not in ("engine", "http"):
            continue
        floor = 1000 if run["layer"] == "engine" else 300
        found.append(
            _target(
                f"≥ {floor:,} completions/s on PostgreSQL, {run['layer']}-level",
                f"{run['per_s']:,.1f}/s (p95 {_fmt(run['p95_ms'], ',.0f')} ms)",
                run["per_s"] >= floor,
                f"database floor: {database['per_s']:,.0f}/s ({database['clients']})"
                if database
                else "",
            )
        )
    return found


def _rss_targets(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for run in runs:
        if run["layer"] != "http" or not run["rss"]["soak_samples"]:
            continue
        instances = run["rss"]["instances_run"]
        short = instances < ISSUE_SOAK
        found.append(
            _target(
                f"service RSS within 50 MB of start-up after {ISSUE_SOAK:,} instances "
                f"({run['backend']})",
                f"{rss_growth(run):+,.1f} MB after {instances:,} instances",
                rss_growth(run) <= 50,
                f"the issue asks {ISSUE_SOAK:,} (--soak-instances {ISSUE_SOAK})" if short else "",
            )
        )
    return found


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    steps, runs = results["steps"], results["throughput"]
    return [
        *_ratio_targets(steps, results.get("floors", [])),
        *_bytes_targets(steps),
        *_naive_targets(steps),
        *_fill_targets(steps),
        *_throughput_targets(runs),
        *_rss_targets(runs),
    ]


def target_table(found: list[dict[str, Any]]) -> str:
    return _table(
        ["target", "measured", "verdict", "note"],
        [[t["target"], t["measured"], t["verdict"], t["note"]] for t in found],
        left=4,
    )
