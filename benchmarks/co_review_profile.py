"""Where one completion's time goes: ``engine.commands.complete_task`` under cProfile, by phase.

Starts one co-review of N departments (``benchmarks/co_review_scaling.py``'s
workload), answers the first department outside the profile (warm caches), then
profiles the next ``--steps`` completions and prints each phase's share of the
time, the SQL statements and JSON work per step.  Phases are cumulative times of
the functions named below, so a flush triggered inside a phase counts in it;
cProfile's overhead inflates small calls, so read the shares, not the milliseconds.

    .venv/bin/python benchmarks/co_review_profile.py [--n 19] [--steps 15] [--backend sqlite]
        [--clock cprofile|wall] [--sql]

``--sql`` also lists each kind of SQL statement with its count and wall time per step
(from sending it to having its result), COMMIT included: the round trips a step pays.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.scaling import databases, workload  # noqa: E402
from engine import commands  # noqa: E402

# (phase, file suffix, function): functions absent from this checkout are left out.
PHASES = [
    ("whole completion", "engine/commands.py", "complete_task"),
    ("lock instance and task", "engine/repository.py", "with_task"),
    ("form validation", "engine/commands.py", "_validate_form"),
    ("restore workflow (cache, or state)", "engine/steps.py", "restore"),
    ("SpiffWorkflow step (task.run, engine steps)", "engine/runtime.py", "complete"),
    ("sync human-task rows", "engine/human_tasks.py", "sync_human_tasks"),
    ("  of which: load all task rows", "engine/repository.py", "for_instance"),
    ("save state (patch or snapshot)", "engine/state_store.py", "save"),
    ("  of which: what changed (fingerprints)", "engine/state_tracking.py", "changes"),
    ("  of which: full dump (first save, verify)", "engine/runtime.py", "dump"),
    ("variables for the API", "engine/runtime.py", "variables"),
    ("timers, messages, async tasks", "engine/scheduler.py", "schedule_waits"),
    ("events and their jobs", "engine/events.py", "record"),
    ("audit chain append", "engine/audit.py", "append"),
    ("commit (final flush, COMMIT)", "engine/unit_of_work.py", "commit"),
    ("JSON decoding (all)", "json/decoder.py", "decode"),
    ("JSON encoding (all)", "json/encoder.py", "encode"),
]

# --clock wall: (phase, "module:attribute path") wrapped with a wall clock, no profiler.
# A name imported into another module is wrapped where it is called from.
WALL_PHASES = [
    ("whole completion", "engine.commands:complete_task"),
    ("lock instance, then task", "engine.repository:InstanceRepository.with_task"),
    ("form validation", "engine.commands:_validate_form"),
    ("restore workflow (cache, or state)", "engine.steps:restore"),
    ("SpiffWorkflow step", "engine.runtime:WorkflowRun.complete"),
    ("sync human-task rows", "engine.steps:sync_human_tasks"),
    ("save state (patch or snapshot)", "engine.state_store:save"),
    ("  of which: variables (saved state)", "engine.runtime:WorkflowRun.variables_as_saved"),
    ("timers, messages, async tasks", "engine.steps:schedule_waits"),
    ("events and their jobs", "engine.events:record"),
    ("audit chain append (flushes the rest)", "engine.audit:append"),
    ("commit", "engine.unit_of_work:SqlUnitOfWork.commit"),
]


def _wall_clocks() -> dict[str, float]:
    """Wrap each of WALL_PHASES with a wall clock; returns the seconds per phase."""
    spent = dict.fromkeys((label for label, _ in WALL_PHASES), 0.0)
    for label, target in WALL_PHASES:
        module_name, path = target.split(":")
        owner: Any = importlib.import_module(module_name)
        *parents, name = path.split(".")
        for parent in parents:
            owner = getattr(owner, parent)
        original = getattr(owner, name)

        def timed(*args: Any, _f: Any = original, _label: str = label, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _f(*args, **kwargs)
            finally:
                spent[_label] += time.perf_counter() - started

        setattr(owner, name, timed)
    return spent


class StatementClock:
    """Wall time and count per kind of SQL statement (its first words), COMMIT included."""

    def __init__(self, engine: Engine) -> None:
        self.spent: dict[str, list[float]] = {}
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._before_commit)
        self._kind = ""

    @staticmethod
    def kind_of(statement: str) -> str:
        words = " ".join(statement.split())
        return words[:72]

    def _before(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self._kind = self.kind_of(statement)
        self._started = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        self._add(self._kind, time.perf_counter() - self._started)

    def _before_commit(self, conn: Any) -> None:
        # The "commit" event fires before the DBAPI commit; time it by wrapping once.
        raw = conn.connection.dbapi_connection
        if getattr(raw, "_timed_commit", False):
            return
        original = raw.commit

        def timed() -> None:
            started = time.perf_counter()
            try:
                original()
            finally:
                self._add("COMMIT", time.perf_counter() - started)

        try:
            raw.commit = timed
            raw._timed_commit = True
        except AttributeError:  # a C-level connection that takes no attributes
            pass

    def _add(self, kind: str, seconds: float) -> None:
        entry = self.spent.setdefault(kind, [0, 0.0])
        entry[0] += 1
        entry[1] += seconds

    def clear(self) -> None:
        self.spent.clear()

    def print(self, done: int) -> None:
        print(f"\n{'SQL statement':<74}{'per step':>9}{'ms/step':>9}")
        rows = sorted(self.spent.items(), key=lambda item: -item[1][1])
        for kind, (count, seconds) in rows:
            print(f"{kind:<74}{count / done:>9.1f}{1000 * seconds / done:>9.2f}")
        total = sum(seconds for _count, seconds in self.spent.values())
        print(f"{'all statements':<74}{'':>9}{1000 * total / done:>9.2f}")


def profile(
    backend: str,
    postgres: str,
    n: int,
    steps: int,
    clock: str = "cprofile",
    top: int = 0,
    sql: bool = False,
) -> None:
    with (
        databases.fresh(backend, postgres) as database,
        tempfile.TemporaryDirectory() as tmp,
    ):
        data_dir = workload.write_data_dir(Path(tmp), n)
        databases.prepare(database, data_dir)
        ctx = workload.engine_context(data_dir, database.url)
        statements = []
        event.listen(
            ctx.db.engine,
            "before_cursor_execute",
            lambda *args: statements.append(args[2].split(None, 1)[0].upper()),
        )
        statement_clock = StatementClock(ctx.db.engine) if sql else None
        instance_id = workload.start_co_review(ctx)
        tasks = commands.list_open_tasks(ctx, instance_id)[: steps + 1]
        commands.complete_task(
            ctx, workload.officer(tasks[0].department), tasks[0].id, workload.ANSWER
        )
        statements.clear()
        if statement_clock:
            statement_clock.clear()
        profiler = cProfile.Profile()
        spent = _wall_clocks() if clock == "wall" else {}
        for task in tasks[1:]:
            if clock != "wall":
                profiler.enable()
            commands.complete_task(ctx, workload.officer(task.department), task.id, workload.ANSWER)
            profiler.disable()
        ctx.db.dispose()
    done = len(tasks) - 1
    if clock == "wall":
        _print_wall(backend, n, done, spent, statements)
    else:
        _print_profile(backend, n, done, profiler, statements, top)
    if statement_clock:
        statement_clock.print(done)


def _print_profile(
    backend: str, n: int, done: int, profiler: cProfile.Profile, statements: list[str], top: int
) -> None:
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = None
    print(f"complete_task, {backend}, N = {n}: {done} steps profiled\n")
    print(f"{'phase':<46}{'ms/step':>9}{'share':>8}{'calls/step':>12}")
    for label, suffix, name in PHASES:
        found = [
            (calls, cumulative)
            for (path, _line, function), (_cc, calls, _tt, cumulative, _callers) in stats.items()
            if function == name and path.endswith(suffix)
        ]
        if not found:
            continue
        calls = sum(c for c, _ in found)
        seconds = sum(s for _, s in found)
        total = total or seconds
        print(
            f"{label:<46}{1000 * seconds / done:>9.2f}{seconds / total:>8.0%}{calls / done:>12.1f}"
        )
    kinds = {kind: statements.count(kind) / done for kind in sorted(set(statements))}
    print("\nSQL statements per step: " + ", ".join(f"{k} {v:.1f}" for k, v in kinds.items()))
    if top:
        print(f"\nThe {top} functions with the most time of their own:")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def _print_wall(
    backend: str, n: int, done: int, spent: dict[str, float], statements: list[str]
) -> None:
    total = spent["whole completion"]
    print(f"complete_task, {backend}, N = {n}: {done} steps, wall clock\n")
    print(f"{'phase':<46}{'ms/step':>9}{'share':>8}")
    for label, seconds in spent.items():
        print(f"{label:<46}{1000 * seconds / done:>9.2f}{seconds / total:>8.0%}")
    kinds = {kind: statements.count(kind) / done for kind in sorted(set(statements))}
    print("\nSQL statements per step: " + ", ".join(f"{k} {v:.1f}" for k, v in kinds.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=19, help="departments")
    parser.add_argument("--steps", type=int, default=15, help="completions profiled")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument(
        "--clock",
        choices=("cprofile", "wall"),
        default="cprofile",
        help="cprofile: every function, inflated; wall: the phases only, as they run",
    )
    parser.add_argument(
        "--top", type=int, default=0, help="also list the K functions with most own time"
    )
    parser.add_argument(
        "--sql", action="store_true", help="also time each kind of SQL statement and COMMIT"
    )
    args = parser.parse_args()
    steps = min(args.steps, args.n - 1)
    profile(args.backend, args.postgres, args.n, steps, args.clock, args.top, args.sql)


if __name__ == "__main__":
    main()
