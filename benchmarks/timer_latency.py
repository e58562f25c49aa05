"""How late do due timers fire?  Target (issue "Durable time"): p95 within 1 s on an idle system.

Starts instances whose timers fall due over a few seconds, runs one job
worker (the loop of ``huiqian worker``) in a thread, and reports, per
database, the delay between each timer's due time and the moment the worker
took its job.  The baseline measured in the same run is the worker's idle
poll interval: the delay a poller cannot beat on average is half of it.

    .venv/bin/python benchmarks/timer_latency.py [--timers 200] [--postgres URL]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text

from engine import commands, schema
from engine.identity import SYSTEM
from engine.jobs import work_forever
from engine.models import Job
from services.app import create_app

ROOT = Path(__file__).resolve().parent.parent
PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
  targetNamespace="http://huiqian.dev/bench">
  <bpmn:process id="bench_timer" isExecutable="true">
    <bpmn:startEvent id="s"/><bpmn:sequenceFlow id="a" sourceRef="s" targetRef="w"/>
    <bpmn:intermediateCatchEvent id="w"><bpmn:timerEventDefinition id="t">
      <bpmn:timeDate>due</bpmn:timeDate></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="b" sourceRef="w" targetRef="e"/><bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>"""
IDLE_SECONDS = 0.2


def measure(url: str, timers: int, spread: float) -> dict[str, float]:
    app = create_app({"HUIQIAN_DATABASE_URL": url, "HUIQIAN_DATA_DIR": tempfile.mkdtemp()})
    ctx = app.extensions["huiqian.engine"]
    schema.upgrade(ctx.db)
    commands.deploy(ctx, SYSTEM, PROCESS, "bench_timer.bpmn")
    first_due = datetime.now(UTC) + timedelta(seconds=2)
    for number in range(timers):
        due = first_due + timedelta(seconds=spread * number / timers)
        commands.start_instance(
            ctx, SYSTEM, process_key="bench_timer", variables={"due": due.isoformat()}
        )
    stop = threading.Event()
    worker = threading.Thread(target=work_forever, args=(ctx, stop, IDLE_SECONDS))
    worker.start()
    time.sleep(max(0.0, (first_due - datetime.now(UTC)).total_seconds()) + spread + 2)
    stop.set()
    worker.join()
    with ctx.db.read_session() as s:
        jobs = list(s.scalars(select(Job).where(Job.kind == "timer")))
    delays = sorted((j.finished_at - j.due_at).total_seconds() for j in jobs if j.finished_at)
    ctx.db.dispose()
    return {
        "timers": len(delays),
        "p50_s": statistics.median(delays),
        "p95_s": delays[int(0.95 * (len(delays) - 1))],
        "max_s": delays[-1],
    }


def _postgres_schema(base: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    with create_engine(base, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{name}"'))
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}options=-csearch_path%3D{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timers", type=int, default=200)
    parser.add_argument("--spread", type=float, default=5.0, help="seconds the due times span")
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    results = {
        "sqlite": measure(
            f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3", args.timers, args.spread
        ),
        "postgresql": measure(_postgres_schema(args.postgres), args.timers, args.spread),
    }
    print(
        f"baseline: worker idle poll {IDLE_SECONDS:.3f} s"
        f" (expected mean delay {IDLE_SECONDS / 2:.3f} s)"
    )
    print(f"{'database':<12}{'timers':>8}{'p50 s':>9}{'p95 s':>9}{'max s':>9}{'p95/poll':>10}")
    for name, r in results.items():
        print(
            f"{name:<12}{r['timers']:>8}{r['p50_s']:>9.3f}{r['p95_s']:>9.3f}{r['max_s']:>9.3f}"
            f"{r['p95_s'] / IDLE_SECONDS:>10.2f}"
        )
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "timer_latency.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
