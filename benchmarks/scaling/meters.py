"""How many bytes a step writes, how much memory a process holds, and summary statistics.

Bytes are counted three ways (``docs/performance.md``, "Method"):

* ``StatementBytes``: the size of the values every INSERT, UPDATE and DELETE
  sends to the database, by table.  Exact and the same on both backends: the
  state JSON, the variables, task, audit, event and job rows.
* ``SqliteWal``: frames appended to SQLite's write-ahead log, read from the
  wal-index header in the ``-shm`` file, so checkpoints run as they normally do.
* ``PostgresWal``: growth of the server's WAL insert position.  It is
  cluster-wide, so per-step figures are taken as medians.
"""

from __future__ import annotations

import json
import statistics
import struct
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.pool import NullPool

WRITES = ("INSERT", "UPDATE", "DELETE")


def _size(value: Any) -> int:
    """Bytes a bound parameter carries (text form for JSON, 8 for numbers and timestamps)."""
    if value is None:
        return 0
    if isinstance(value, str):
        return len(value.encode())
    if isinstance(value, bytes | bytearray | memoryview):
        return len(value)
    if isinstance(value, bool):
        return 1
    if isinstance(value, int | float | datetime | date):
        return 8
    wrapped = getattr(value, "obj", None)  # psycopg's Json wrapper around a JSON column value
    if wrapped is not None:
        dumps = getattr(value, "dumps", None) or json.dumps
        return len(dumps(wrapped).encode())
    return len(str(value).encode())


def _parameter_bytes(parameters: Any) -> int:
    """Sizes of one row's parameters, or of many rows' (executemany, insertmanyvalues)."""
    if isinstance(parameters, dict):
        return sum(_size(value) for value in parameters.values())
    if isinstance(parameters, list | tuple):
        return sum(
            _parameter_bytes(item) if isinstance(item, dict | list | tuple) else _size(item)
            for item in parameters
        )
    return _size(parameters)


def _table(statement: str) -> str:
    words = statement.split(None, 3)
    return words[2] if words[0].upper() in ("INSERT", "DELETE") else words[1]


class StatementBytes:
    """Sums the parameters of write statements on ``engine``, by table.

    The time spent counting is kept in ``overhead`` so timings can leave it out.
    """

    def __init__(self, engine: Engine) -> None:
        self.by_table: Counter[str] = Counter()
        self.overhead = 0.0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        if not statement.lstrip()[:6].upper().startswith(WRITES):
            return
        started = time.perf_counter()
        total = _parameter_bytes(parameters)
        self.by_table[_table(statement.lstrip()).strip('"')] += total
        self.overhead += time.perf_counter() - started

    def take(self) -> tuple[dict[str, int], float]:
        """Bytes by table and counting time since the last call; resets both."""
        taken, overhead = dict(self.by_table), self.overhead
        self.by_table.clear()
        self.overhead = 0.0
        return taken, overhead


class SqliteWal:
    """Bytes appended to a SQLite database's WAL, from the wal-index header (``-shm``).

    The header (SQLite's ``WalIndexHdr``, native byte order) holds ``mxFrame``,
    the last valid frame, at offset 16, and the WAL salts at offset 32.  A
    writer that finds the log fully checkpointed restarts it at frame 1 with new
    salts, so a step whose salts changed wrote ``mxFrame`` frames from the start.
    """

    FRAME_HEADER = 24

    def __init__(self, database_url: str) -> None:
        database = make_url(database_url).database
        assert database, database_url
        self.shm = Path(f"{database}-shm")
        self.wal = Path(f"{database}-wal")
        self._last = self._read()

    def _read(self) -> tuple[int, int, tuple[int, int] | None]:
        if not self.shm.exists():  # no connection open: the log was checkpointed and removed
            return 0, 0, None
        header = self.shm.read_bytes()[:48]
        page = struct.unpack_from("=H", header, 14)[0]
        frames = struct.unpack_from("=I", header, 16)[0]
        salts = struct.unpack_from("=II", header, 32)
        return (65536 if page == 1 else page), frames, salts

    def take(self) -> int:
        """Bytes written to the WAL since the last call."""
        page, frames, salts = self._read()
        _, last_frames, last_salts = self._last
        self._last = page, frames, salts
        written = frames - last_frames if salts == last_salts else frames
        return written * (page + self.FRAME_HEADER)


class PostgresWal:
    """WAL bytes the server wrote (cluster-wide), and who else was writing."""

    def __init__(self, database_url: str) -> None:
        self._engine = create_engine(database_url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self._connection = self._engine.connect()
        self._lsn = self._position()

    def _position(self) -> int:
        return int(self._connection.scalar(text("SELECT pg_current_wal_insert_lsn() - '0/0'")))

    def take(self) -> int:
        """WAL bytes written by the whole cluster since the last call."""
        position = self._position()
        written, self._lsn = position - self._lsn, position
        return written

    def other_active_backends(self) -> int:
        """Sessions of other clients running a statement now (they add to the WAL too)."""
        return int(
            self._connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                    "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
                )
            )
        )

    def close(self) -> None:
        self._connection.close()
        self._engine.dispose()


def _status(field: str) -> float:
    """A ``/proc/self/status`` memory field in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def rss_mb(pid: int | None = None) -> float:
    path = Path(f"/proc/{pid}/status") if pid else Path("/proc/self/status")
    for line in path.read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise KeyError("VmRSS")


def reset_peak_rss() -> float:
    """Start a new peak-RSS window (Linux ``clear_refs`` 5); returns the RSS now in MB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def peak_rss_mb() -> float:
    """The highest RSS since ``reset_peak_rss`` (``VmHWM``), like ``ru_maxrss`` but resettable."""
    return _status("VmHWM")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def projected_total(values: list[float], steps: int) -> float:
    """The sum of a per-step quantity over all ``steps`` when only the first few were measured.

    For bytes, which grow by the same amount with each answer (the state holds
    every answer so far): a line a + b·i fitted to the measured steps, summed.
    """
    measured = len(values)
    if measured >= steps:
        return sum(values)
    if measured < 3:
        return statistics.fmean(values) * steps
    slope, intercept = statistics.linear_regression(range(measured), values)
    return intercept * steps + max(slope, 0.0) * steps * (steps - 1) / 2


def projected_seconds(seconds: list[float], steps: int) -> float:
    """Seconds for all ``steps`` when only the first few ran within the budget: mean × steps.

    Checked against full runs of N = 1,000 (docs/performance.md): the engine's
    step costs about the same early and late (loading every task row weighs
    more than the growing state), and the early steps of naive are, if
    anything, slower; a line fitted to a few noisy early steps extrapolates badly.
    """
    if len(seconds) >= steps:
        return sum(seconds)
    return statistics.fmean(seconds) * steps


class Stopwatch:
    """Wall-clock and this process's CPU seconds of a block.

    Wall minus CPU is time spent waiting: for the database server, the disk,
    locks, or a core when the machine is busy.
    """

    def __enter__(self) -> Stopwatch:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


class StepLog:
    """Per-step measurements of one configuration, in rounds of one instance each.

    A small N runs up to ``rounds`` instances and each step's figures are the
    medians over the rounds, so one step preempted on a busy machine does not
    move the result.  A large N runs one round, cut short when the time budget
    is spent; the remaining steps are then projected (``projected_seconds``, ``projected_total``).
    """

    def __init__(self, steps: int, budget_s: float, rounds: int) -> None:
        self.planned = steps
        self.budget_s = budget_s
        self.max_rounds = rounds
        self.rounds: list[dict[str, list[float]]] = []
        self.starts: list[float] = []
        self.by_table: Counter[str] = Counter()
        self._table_steps = 0
        self._spent = 0.0

    def next_round(self) -> bool:
        """Whether to run another instance: the first always, more while all fit the budget."""
        if self.rounds and (
            len(self.rounds) >= self.max_rounds
            or self._spent >= self.budget_s
            or len(self.rounds[-1]["wall"]) < self.planned
        ):
            return False
        self.rounds.append({"wall": [], "cpu": [], "bytes": [], "physical": []})
        return True

    def started(self, seconds: float) -> None:
        self.starts.append(seconds)
        self._spent += seconds

    def more(self) -> bool:
        return len(self.rounds[-1]["wall"]) < self.planned and self._spent < self.budget_s

    def add(
        self,
        seconds: float,
        cpu_seconds: float,
        written: int = 0,
        physical: int | None = None,
        by_table: dict[str, int] | None = None,
    ) -> None:
        current = self.rounds[-1]
        current["wall"].append(seconds)
        current["cpu"].append(cpu_seconds)
        current["bytes"].append(float(written))
        if physical is not None:
            current["physical"].append(float(physical))
        self.by_table.update(by_table or {})
        self._table_steps += 1
        self._spent += seconds

    def _per_step(self, key: str) -> list[float]:
        """Each step's median over the rounds that reached it."""
        longest = max(len(r[key]) for r in self.rounds)
        return [
            statistics.median(r[key][i] for r in self.rounds if i < len(r[key]))
            for i in range(longest)
        ]

    def summary(self) -> dict[str, Any]:
        wall, cpu, written = self._per_step("wall"), self._per_step("cpu"), self._per_step("bytes")
        physical = self._per_step("physical")
        done = len(wall)
        start_s = statistics.median(self.starts)
        return {
            "steps": done,
            "planned_steps": self.planned,
            "rounds": len(self.rounds),
            "complete": done == self.planned,
            "start_s": start_s,
            "step_s": wall,
            "mean_step_s": statistics.fmean(wall) if done else 0.0,
            "mean_step_cpu_s": statistics.fmean(cpu) if done else 0.0,
            "step_bytes": written,
            "mean_step_bytes": statistics.fmean(written) if done else 0.0,
            "projected_mean_step_bytes": (
                projected_total(written, self.planned) / self.planned if done else 0.0
            ),
            "median_step_physical_bytes": median(physical) if physical else None,
            "step_bytes_by_table": {
                table: total / self._table_steps for table, total in self.by_table.items()
            },
            "end_to_end_s": start_s + projected_seconds(wall, self.planned),
        }
