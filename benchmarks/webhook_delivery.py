"""Webhook deliveries per second to a local receiver, against raw http.client POSTs.

Both sides send the same signed-size JSON body to the same threaded receiver on
127.0.0.1, one new connection per request.  The pipeline side is the whole path
a worker takes: fan-out job, claim transaction, signed POST after commit, record
transaction.  The ratio says what the bookkeeping costs on top of the HTTP call.

    .venv/bin/python benchmarks/webhook_delivery.py [--events 500] [--database-url URL]

``--database-url`` must name an empty database: the benchmark migrates it and writes to it.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import events, jobs  # noqa: E402
from engine.clock import system_clock  # noqa: E402
from engine.context import EngineContext  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.identity import SYSTEM  # noqa: E402
from engine.unit_of_work import SqlUnitOfWork  # noqa: E402
from services import migrations  # noqa: E402
from webhooks import subscriptions, worker  # noqa: E402
from webhooks.settings import WebhookSettings  # noqa: E402
from webhooks.ssrf import AllowList, TargetPolicy  # noqa: E402
from webhooks.testing import Receiver  # noqa: E402

BODY = b'{"type":"task.created","timestamp":"2026-05-04T09:00:00Z","data":{"n":1}}'


def raw_posts(url: str, count: int) -> float:
    """Requests per second of bare http.client POSTs, a new connection each."""
    parts = urlsplit(url)
    started = time.perf_counter()
    for _ in range(count):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
        connection.request("POST", parts.path, body=BODY, headers={"content-type": "json"})
        connection.getresponse().read()
        connection.close()
    return count / (time.perf_counter() - started)


def pipeline(url: str, database_url: str, count: int) -> float:
    """Deliveries per second through fan-out, claim, send and record (one worker)."""
    db = Database(database_url)
    migrations.upgrade(db)
    ctx = EngineContext(db=db)
    settings = WebhookSettings(policy=TargetPolicy(allow=AllowList.parse("127.0.0.1")))
    worker.install(settings)
    subscriptions.create(ctx, settings, SYSTEM, url=url, event_types=["task.created"])
    with SqlUnitOfWork(db) as uow:
        for n in range(count):
            events.record(uow, "task.created", {"n": n}, at=system_clock(), jurisdiction="baoji")
        uow.commit()
    started = time.perf_counter()
    ran = jobs.run_due_jobs(ctx, limit=10 * count)
    elapsed = time.perf_counter() - started
    db.dispose()
    assert ran == 2 * count, f"expected {2 * count} jobs, ran {ran}"
    return count / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Receiver() as receiver:
        database_url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        raw_posts(receiver.url, 50)  # warm up
        baseline = raw_posts(receiver.url, args.events)
        delivered = pipeline(receiver.url, database_url, args.events)
        assert len(receiver.message_ids()) == args.events
    backend = database_url.split(":", 1)[0]
    print(f"raw http.client POSTs:       {baseline:8.1f} /s")
    print(f"webhook deliveries ({backend}): {delivered:8.1f} /s")
    print(f"ratio deliveries / raw POSTs: {delivered / baseline:8.3f}")


if __name__ == "__main__":
    main()
