"""The whole site under load: gunicorn and a Celery worker, with otel-aa off, bare and on.

Three stacks of the benchmark site run at once, each as Alliance Auth 5 runs (its
``supervisor.conf``): gunicorn with 3 sync workers (``--workers=3 --timeout 120``) and a Celery
worker with ``--pool=threads --concurrency=5 --prefetch-multiplier=1``, on the local Redis
(DB 12, a key prefix per stack, deleted at the end), each with its own SQLite database, migrated:

  off   no OpenTelemetry at all
  bare  OpenTelemetry's Django and Celery instrumentation, nothing exported (an SDK
        TracerProvider without processors, an SDK MeterProvider without readers): (b) of
        docs/performance.md, started in code (``bare_wsgi()`` and ``--celery-bare`` here), as
        ``opentelemetry-instrument`` can't make SDK providers without a configurator package
  on    otel-aa zero-code (``opentelemetry-instrument`` with ``OTEL_PYTHON_CONFIGURATOR=otel_aa``),
        three GA tokens, GA = a GACollector on 127.0.0.1 (not validating: it costs the machine)

Only one stack takes load at a time: ``--block``-second blocks, the stacks in balanced orders
(``_common.balanced_orders``), until each had ``--duration`` seconds, so the machine's drift
lands on all three alike. In a block, ``wrk`` keeps ``--connections`` connections busy with
``GET /dashboard/`` (40 kB of HTML, back to back, a closed loop) while a producer thread here
queues ``--task-rate`` tasks a second (AA's peak, ``_common.PEAK_TASKS_PER_S``); a task's latency
is from queueing to its result's ``date_done`` (a Redis result backend, the same for all three:
AA has none, so each task costs one Redis write more than in AA).

Needs Redis on 127.0.0.1:6379 and wrk (Debian: ``apt-get install wrk``). Run from the
repository root:

    .venv/bin/python bench/bench_site_load.py            # 3 x 2 min of load, ~8 min in all
    .venv/bin/python bench/bench_site_load.py --quick    # 3 x 20 s, to check it runs

How to read it: one Markdown table, a row per configuration: page throughput and latency
percentiles (median of the blocks' own percentiles), tasks done a second and their latency,
the CPU the stack's processes used per page and per task, and each against "off". The noise
line gives the blocks' spread of page throughput. Everything shares the machine: gunicorn,
Celery, wrk, Redis, the collector (and here, other jobs).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    BENCH_DIR,
    PEAK_TASKS_PER_S,
    balanced_orders,
    closed_port,
)
from _procs import descendants, process_cpu_s
from _site_report import report

REDIS_URL = os.environ.get("BENCH_SITE_REDIS_URL", "redis://127.0.0.1:6379/12")
BIN = Path(sys.executable).parent
CONFIGS = {"off": "a", "bare": "b", "on": "c"}
WORKER_ARGS = ["--pool=threads", "--concurrency=5", "--prefetch-multiplier=1", "--without-gossip",
               "--without-mingle", "--loglevel=WARNING"]
WRK_SCRIPT = """done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests": %d, "us": %d, "errors": %d, "p50": %d, "p90": %d, "p99": %d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
"""


def bare_wsgi() -> Any:
    """gunicorn's app for "bare" (``bench_site_load:bare_wsgi()``), made in each worker."""
    from bench_request import _setup_variant

    _setup_variant("b")
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def bare_celery(argv: list[str]) -> None:
    from bench_request import _setup_variant

    _setup_variant("b")
    import django

    django.setup()
    from benchsite.celery import app

    app.conf.result_backend = REDIS_URL
    app.worker_main(["worker", *argv])


class Stack:
    """One configuration's gunicorn and Celery worker, its port and its broker prefix."""

    def __init__(self, name: str, tmp: Path, run: str, ga_endpoint: str) -> None:
        self.name, self.port, self.prefix = name, closed_port(), f"{run}:{name}:"
        data = tmp / name
        data.mkdir()
        path = os.pathsep.join(p for p in (str(BENCH_DIR), os.environ.get("PYTHONPATH", "")) if p)
        self.env = {**os.environ, "PYTHONPATH": path, "DJANGO_SETTINGS_MODULE": "benchsite.settings",
                    "BENCH_VARIANT": CONFIGS[name], "BENCH_DIR": str(data), "BENCH_REDIS_URL": REDIS_URL,
                    "BENCH_REDIS_PREFIX": self.prefix}
        if name == "on":
            from bench_request import ga_tokens

            self.env.update(OTEL_PYTHON_CONFIGURATOR="otel_aa", OTEL_PYTHON_DISTRO="otel_aa",
                            OTEL_TRACES_EXPORTER="ga", OTEL_METRICS_EXPORTER="ga", OTEL_LOGS_EXPORTER="none",
                            OTEL_EXPORTER_GA_TOKENS=json.dumps(ga_tokens()),
                            OTEL_EXPORTER_GA_ENDPOINT=ga_endpoint,
                            OTEL_EXPORTER_GA_VALIDATE="false", OTEL_SERVICE_NAME="bench-site-on")
        subprocess.run([sys.executable, "-m", "django", "migrate", "--run-syncdb", "-v0"], env=self.env,
                       cwd=BENCH_DIR, check=True)
        app = "bench_site_load:bare_wsgi()" if name == "bare" else "django.core.wsgi:get_wsgi_application()"
        web = [str(BIN / "gunicorn"), "--workers=3", "--timeout=120", "-b", f"127.0.0.1:{self.port}", app]
        celery = [str(BIN / "celery"), "-A", "benchsite", "--result-backend", REDIS_URL, "worker",
                  *WORKER_ARGS, "-n", f"{name}@%h"]
        if name == "bare":
            celery = [sys.executable, __file__, "--celery-bare", *WORKER_ARGS, "-n", f"{name}@%h"]
        zero_code = [str(BIN / "opentelemetry-instrument")] if name == "on" else []
        self.log = open(data / "stack.log", "w")  # noqa: SIM115 (closed in stop())
        self.procs = [subprocess.Popen([*zero_code, *cmd], env=self.env, cwd=BENCH_DIR, stdout=self.log,
                                       stderr=subprocess.STDOUT) for cmd in (web, celery)]

    def wait_ready(self, client: Any, redis: Any, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
                break
            self._check(deadline)
        task_id = client.send_task("benchsite.tasks.add", args=(2, 3)).id
        while not redis.exists(f"celery-task-meta-{task_id}"):
            self._check(deadline)
        redis.delete(f"celery-task-meta-{task_id}")

    def _check(self, deadline: float) -> None:
        if time.monotonic() > deadline or any(p.poll() is not None for p in self.procs):
            raise RuntimeError(f"stack {self.name} did not start; see {self.log.name}")
        time.sleep(0.2)  # polling for start-up

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of (gunicorn's master and workers, the Celery worker)."""
        return (sum(process_cpu_s(pid) for pid in descendants(self.procs[0].pid)),
                sum(process_cpu_s(pid) for pid in descendants(self.procs[1].pid)))

    def stop(self) -> None:
        for proc in self.procs:  # gunicorn's workers and Celery flush what they hold on SIGTERM
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.log.close()


def client_for(stack: Stack) -> Any:
    from celery import Celery

    client = Celery(f"bench-client-{stack.name}", broker=REDIS_URL, backend=REDIS_URL)
    client.conf.broker_transport_options = {"global_keyprefix": stack.prefix}
    return client


def produce(client: Any, rate: float, seconds: float, sent: list[tuple[str, float]]) -> None:
    """Queue ``rate`` tasks a second for ``seconds``, recording (id, time queued)."""
    start = time.monotonic()
    for i in range(int(rate * seconds)):
        ahead = start + i / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)  # pacing the load
        queued = time.time()
        sent.append((client.send_task("benchsite.tasks.add", args=(2, 3)).id, queued))


def task_latencies(redis: Any, sent: list[tuple[str, float]], timeout: float = 120) -> list[float]:
    """Seconds from queueing to ``date_done`` of each task, once all are done (or ``timeout``)."""
    keys = [f"celery-task-meta-{task_id}" for task_id, _ in sent]
    deadline = time.monotonic() + timeout
    while sum(redis.exists(*keys[i:i + 500]) for i in range(0, len(keys), 500)) < len(keys):
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)  # polling the result backend
    out = []
    for i in range(0, len(keys), 500):
        for (_, queued), raw in zip(sent[i:i + 500], redis.mget(keys[i:i + 500]), strict=True):
            if raw is not None:
                done = dt.datetime.fromisoformat(json.loads(raw)["date_done"])
                done = done if done.tzinfo else done.replace(tzinfo=dt.timezone.utc)
                out.append(done.timestamp() - queued)
    if keys:
        redis.delete(*keys)
    return out


def block(stack: Stack, client: Any, redis: Any, args: argparse.Namespace, lua: Path) -> dict[str, Any]:
    sent: list[tuple[str, float]] = []
    producer = threading.Thread(target=produce, args=(client, args.task_rate, args.block, sent))
    cpu0 = stack.cpu()
    producer.start()
    wrk = subprocess.run(["wrk", "-t1", f"-c{args.connections}", f"-d{args.block}s", "-s", str(lua),
                          f"http://127.0.0.1:{stack.port}/dashboard/"], capture_output=True, text=True,
                         check=True, timeout=args.block + 60)
    producer.join()
    latencies = task_latencies(redis, sent)
    cpu1 = stack.cpu()
    pages = json.loads([line for line in wrk.stdout.splitlines() if line.startswith("{")][-1])
    return {"pages": pages, "tasks": latencies, "sent": len(sent), "web_cpu": cpu1[0] - cpu0[0],
            "task_cpu": cpu1[1] - cpu0[1]}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=120, help="seconds of load per configuration")
    parser.add_argument("--block", type=float, default=20, help="seconds per block")
    parser.add_argument("--connections", type=int, default=6, help="wrk's connections (2 per worker)")
    parser.add_argument("--task-rate", type=float, default=PEAK_TASKS_PER_S)
    parser.add_argument("--configs", default="off,bare,on")
    parser.add_argument("--quick", action="store_true", help="3 x 20 s in 10 s blocks")
    parser.add_argument("--celery-bare", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.celery_bare is not None:
        bare_celery(args.celery_bare)
        return 0
    if args.quick:
        args.duration, args.block = 20, 10
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (Debian/Ubuntu: apt-get install wrk)")
    import redis as redis_lib
    from opentelemetry.exporter.google_analytics.testing import GACollector

    tmp = Path(tempfile.mkdtemp(prefix="otelaa-site-"))
    lua = tmp / "report.lua"
    lua.write_text(WRK_SCRIPT)
    run = f"otelaa-site-{uuid.uuid4().hex[:8]}"
    redis = redis_lib.Redis.from_url(REDIS_URL)
    ga = GACollector(validate=False).start()
    names = args.configs.split(",")
    stacks: list[Stack] = []
    try:
        stacks = [Stack(name, tmp, run, ga.endpoint) for name in names]
        clients = [client_for(s) for s in stacks]
        for s, c in zip(stacks, clients, strict=True):
            s.wait_ready(c, redis)
        results: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
        orders = balanced_orders(len(stacks))
        for r in range(max(1, round(args.duration / args.block))):
            for i in orders[r % len(orders)]:
                results[names[i]].append(block(stacks[i], clients[i], redis, args, lua))
        for s in stacks:
            s.stop()
        report(results, args, ga)
        return 0
    finally:
        for s in stacks:
            s.stop() if any(p.poll() is None for p in s.procs) else None
        ga.close()
        keys = list(redis.scan_iter(match=f"{run}:*", count=1000))
        if keys:
            redis.delete(*keys)
        print(f"\n(removed {len(keys)} Redis keys under {run}: in {REDIS_URL}; logs in {tmp})")


if __name__ == "__main__":
    sys.exit(main())
