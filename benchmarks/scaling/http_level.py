"""The co-review through the running service: gunicorn, HTTP, JSON, tokens, the command layer.

``run`` boots ``gunicorn -w 2 services.wsgi:app`` on a prepared database,
starts co-reviews as the integrator and lets a pool of client threads (one
``http.client`` connection each) complete the tasks as the departments'
officers: throughput and latency.  It then keeps the service busy with many
small co-reviews (the soak) and compares the workers' RSS with their start-up RSS.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.scaling import databases, meters, workload
from benchmarks.scaling.databases import BenchDatabase

API = "/api/v1"
PAGE = 100


class Service:
    """``gunicorn -w <workers> services.wsgi:app`` on 127.0.0.1, stopped on exit."""

    def __init__(self, database: BenchDatabase, data_dir: Path, workers: int) -> None:
        self.database = database
        self.data_dir = data_dir
        self.workers = workers
        self.port = 0
        self.log = data_dir / "gunicorn.log"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Service:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        env = {
            **os.environ,
            "HUIQIAN_DATABASE_URL": self.database.url,
            "HUIQIAN_DATA_DIR": str(self.data_dir),
        }
        command = [sys.executable, "-m", "gunicorn", "-w", str(self.workers)]
        command += ["-b", f"127.0.0.1:{self.port}", "services.wsgi:app"]
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                command, cwd=workload.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                status, _ = Client(self.port).call("GET", f"{API}/health")
            except OSError:
                status = 0
            if status == 200 and len(self.worker_pids()) == self.workers:
                self._wait_booted()
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready after {timeout} s: {self.log.read_text()[-2000:]}")

    def _wait_booted(self, timeout: float = 30.0) -> None:
        """Until every worker's RSS holds still: each loads the app after the fork."""
        deadline = time.monotonic() + timeout
        last: dict[int, float] = {}
        steady = 0
        while time.monotonic() < deadline and steady < 3:
            time.sleep(0.5)
            now = self.worker_rss_mb()
            close = now.keys() == last.keys() and all(
                abs(now[pid] - last[pid]) < 0.2 for pid in now
            )
            steady = steady + 1 if close else 0
            last = now

    def worker_pids(self) -> list[int]:
        assert self._process is not None
        pid = self._process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        return sorted(int(p) for p in children.read_text().split()) if children.exists() else []

    def worker_rss_mb(self) -> dict[int, float]:
        return {pid: meters.rss_mb(pid) for pid in self.worker_pids()}

    def __exit__(self, *_exc: object) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


class Client:
    """One keep-alive connection (gunicorn's sync workers close it; http.client reopens)."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.token = token

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if token or self.token:
            headers["Authorization"] = f"Bearer {token or self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self.connection.request(method, path, body=payload, headers=headers)
            response = self.connection.getresponse()
            raw = response.read()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.connection.close()
        return response.status, (json.loads(raw) if raw else None)


def _login(port: int, username: str) -> str:
    status, body = Client(port).call(
        "POST", f"{API}/auth/token", {"username": username, "password": databases.PASSWORD}
    )
    assert status == 200, (status, body)
    return str(body["access_token"])


def _start(client: Client, departments: list[str] | None = None) -> str:
    variables: dict[str, Any] = {"measure": workload.MEASURE}
    if departments is not None:
        variables["departments"] = departments
    body = {
        "process_key": workload.PROCESS_KEY,
        "jurisdiction": workload.JURISDICTION,
        "variables": variables,
    }
    status, answer = client.call("POST", f"{API}/instances", body)
    assert status == 201, (status, answer)
    return str(answer["id"])


def _open_tasks(client: Client, instance_id: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    page = 1
    while True:
        query = f"instance_id={instance_id}&state=open&page={page}&page_size={PAGE}"
        status, answer = client.call("GET", f"{API}/tasks?{query}")
        assert status == 200, (status, answer)
        found += [(task["department"], task["id"]) for task in answer]
        if len(answer) < PAGE:
            return found
        page += 1


def _in_threads(clients: int, work: Callable[[Client], None], port: int) -> None:
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(work, Client(port)) for _ in range(clients)]:
            future.result()


def _queue(items: list[Any]) -> Callable[[], Any | None]:
    lock = threading.Lock()
    pending = list(reversed(items))

    def take() -> Any | None:
        with lock:
            return pending.pop() if pending else None

    return take


def _complete_all(
    port: int,
    tokens: dict[str, str],
    queue: list[tuple[str, str]],
    clients: int,
    budget_s: float,
) -> dict[str, Any]:
    take = _queue(queue)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    began = time.monotonic()

    def work(client: Client) -> None:
        while time.monotonic() - began < budget_s:
            item = take()
            if item is None:
                return
            department, task_id = item
            sent = time.perf_counter()
            status, answer = client.call(
                "POST",
                f"{API}/tasks/{task_id}/complete",
                {"data": workload.ANSWER},
                token=tokens[department],
            )
            elapsed = time.perf_counter() - sent
            with lock:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    failures.append(f"{status} {answer}")

    _in_threads(clients, work, port)
    seconds = time.monotonic() - began
    return {
        "completions": len(latencies),
        "errors": len(failures),
        "first_error": failures[0] if failures else None,
        "seconds": seconds,
        "per_s": len(latencies) / seconds,
        "p50_ms": 1000 * meters.percentile(latencies, 0.50) if latencies else None,
        "p95_ms": 1000 * meters.percentile(latencies, 0.95) if latencies else None,
        "p99_ms": 1000 * meters.percentile(latencies, 0.99) if latencies else None,
    }


def _soak(
    service: Service,
    integrator: str,
    tokens: dict[str, str],
    instances: int,
    departments: list[str],
    clients: int,
    budget_s: float,
) -> Iterator[tuple[int, dict[int, float]]]:
    """Run ``instances`` co-reviews end to end, or as many as ``budget_s`` allows.

    Yields (instances done, the workers' RSS) at every tenth and at the end.
    """
    take = _queue(list(range(instances)))
    done = 0
    lock = threading.Lock()
    began = time.monotonic()

    def work(client: Client) -> None:
        nonlocal done
        client.token = integrator
        while time.monotonic() - began < budget_s and take() is not None:
            instance_id = _start(client, departments)
            for department, task_id in _open_tasks(client, instance_id):
                status, answer = client.call(
                    "POST",
                    f"{API}/tasks/{task_id}/complete",
                    {"data": workload.ANSWER},
                    token=tokens[department],
                )
                assert status == 200, (status, answer)
            with lock:
                done += 1

    runner = threading.Thread(target=_in_threads, args=(clients, work, service.port))
    runner.start()
    marks = [instances * k // 10 for k in range(1, 11)]
    while runner.is_alive():
        runner.join(0.5)
        if marks and done >= marks[0]:
            marks.pop(0)
            yield done, service.worker_rss_mb()
    yield done, service.worker_rss_mb()


def run(
    backend: str,
    postgres: str,
    n: int,
    instances: int,
    clients: int,
    workers: int,
    budget_s: float,
    soak_instances: int = 0,
    soak_departments: int = 3,
    soak_budget_s: float = 90.0,
) -> dict[str, Any]:
    """Throughput of completions through HTTP, then the soak's RSS; one service per call."""
    with databases.fresh(backend, postgres) as database, tempfile.TemporaryDirectory() as tmp:
        data_dir = workload.write_data_dir(Path(tmp), n)
        databases.prepare(database, data_dir, users=True)
        with Service(database, data_dir, workers) as service:
            startup_rss = service.worker_rss_mb()
            integrator = _login(service.port, "integrator")
            tokens = {
                code: _login(service.port, workload.officer_name(code))
                for code in workload.departments(n)
            }
            client = Client(service.port, integrator)
            starts = []
            per_instance = []
            for _ in range(instances):
                sent = time.perf_counter()
                instance_id = _start(client)
                starts.append(time.perf_counter() - sent)
                per_instance.append(_open_tasks(client, instance_id))
            queue = [tasks[i] for i in range(n) for tasks in per_instance if i < len(tasks)]
            measured = _complete_all(service.port, tokens, queue, clients, budget_s)
            after_throughput = service.worker_rss_mb()
            samples = []
            if soak_instances:
                soak_codes = workload.departments(n)[:soak_departments]
                samples = list(
                    _soak(
                        service,
                        integrator,
                        tokens,
                        soak_instances,
                        soak_codes,
                        clients,
                        soak_budget_s,
                    )
                )
            final = service.worker_rss_mb()
            pids_changed = sorted(final) != sorted(startup_rss)
    return {
        "layer": "http",
        "backend": backend,
        "n": n,
        "clients": f"{clients} threads, gunicorn -w {workers}",
        "start_p50_ms": 1000 * meters.percentile(starts, 0.5),
        **measured,
        "rss": {
            "startup_mb": startup_rss,
            "after_throughput_mb": after_throughput,
            "soak_samples": [{"instances": d, "workers_mb": rss} for d, rss in samples],
            "final_mb": final,
            "instances_run": instances + (samples[-1][0] if samples else 0),
            "soak_departments": soak_departments if soak_instances else None,
            "workers_restarted": pids_changed,
        },
    }
