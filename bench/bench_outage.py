"""GA slow or refusing for an hour of Alliance Auth's peak traffic, then back: memory and delivery.

Three outages, side by side, each in its own process running otel-aa's real pipeline
(``otel_aa.configure()``: sampler, allowlist, batch span processor, GA exporter, three tokens) on
the benchmark site, its database migrated: page views through Django (in-process WSGI) and
Celery tasks through Celery's tracer (``Task.apply()``), mixed at AA's peak rates
(``_common.PEAK_PAGE_VIEWS_PER_S`` and ``PEAK_TASKS_PER_S``: 10 and 40 a second, 180,000 spans
an hour):

  slow     GA answers after the exporter's timeout (a GACollector holding every request)
  refused  nothing listens on GA's port (a relay in front of the collector, switched off)
  503      GA answers 503 Service Unavailable

Each runs healthy for a moment, then through the outage, then GA comes back and the traffic
goes on: nothing is restarted or flushed by hand until delivery has resumed by itself.

Time is compressed. An hour's spans are fed in ``--outage-seconds`` (default 600 s: six times
the peak rate), and the exporter's timeout is 1 s instead of 10. The equivalence: during an
outage the pipeline holds at most the batch queue (2,048 spans) and the one batch being sent;
what it keeps is a count of spans, not a span of time, so feeding an hour's spans faster only
makes the queue fill sooner and drop more (the same number kept). What does depend on time is
the number of export cycles (each lasts the exporter's 30 s retry budget, which no setting
shortens: ``--outage-seconds`` / 30 of them, an hour has 120) and of failed HTTP attempts in
them; the shorter timeout makes a slow GA cost more attempts per cycle than the real one (about
eight instead of three), so the run meets at least as many failures per cycle. RSS is sampled
along the way: flat means the state that grows with spans or attempts is bounded.

Run from the repository root (Redis is not needed):

    .venv/bin/python bench/bench_outage.py            # ~13 min, the three outages at once
    .venv/bin/python bench/bench_outage.py --quick    # ~2 min: 18,000 spans in 60 s

How to read it: the RSS table (MB, per outage, over the outage's spans); per outage the events
delivered before, kept through the outage and delivered after it, dropped by reason (the
exporter's ``DropCounter`` reasons, the allowlist processor's full-queue drops) and whether
every event is accounted for; the export thread's CPU; and one PASS/FAIL line each for "memory
stays flat" and "delivery resumes by itself".
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    PEAK_PAGE_VIEWS_PER_S,
    PEAK_TASKS_PER_S,
    Worker,
    rss_mb,
    serve,
    thread_cpu_ns,
)
from _outage_report import report
from _procs import Relay
from bench_request import TOKENS, collector_counts, page_server, start_django, variant_env

#: Spans per page view among the fed spans: 10 pages to 40 tasks a second.
PAGE_EVERY = (PEAK_PAGE_VIEWS_PER_S + PEAK_TASKS_PER_S) // PEAK_PAGE_VIEWS_PER_S


# --- the child process ------------------------------------------------------------------------


def worker(variant: str) -> None:
    start_django("c")  # its database: the install identifier is settled, client_id is known
    from benchsite.tasks import add
    from opentelemetry import trace

    serve_page = page_server("outage worker")

    def page() -> None:
        serve_page()

    def task() -> None:
        if add.apply(args=(2, 3)).get() != 5:
            raise RuntimeError("task failed")

    fed = {"page_view": 0, "celery_event": 0}

    def feed(spans: int, seconds: float, samples: int) -> dict[str, Any]:
        """Feed ``spans`` (pages and tasks mixed) evenly over ``seconds``; sample RSS as it goes."""
        start = time.monotonic()
        every = max(1, spans // max(1, samples))
        rows = []
        for i in range(spans):
            if i % PAGE_EVERY == 0:
                page()
                fed["page_view"] += 1
            else:
                task()
                fed["celery_event"] += 1
            if (i + 1) % every == 0:
                rows.append([round(time.monotonic() - start, 1), i + 1, round(rss_mb(), 1)])
            ahead = start + seconds * (i + 1) / spans - time.monotonic()
            if ahead > 0.002:
                time.sleep(ahead)  # pacing the load, not waiting for a result
        return {"samples": rows, "seconds": time.monotonic() - start, "fed": dict(fed)}

    def stats() -> dict[str, Any]:
        """What was dropped, by reason, found by type: the pipeline's objects are not reached into."""
        from opentelemetry.exporter.google_analytics import DropCounter

        drops: dict[str, int] = {}
        queue_full = 0
        for obj in gc.get_objects():
            if isinstance(obj, DropCounter):
                for reason, count in obj.snapshot().items():
                    drops[reason] = drops.get(reason, 0) + count
            elif type(obj).__name__ == "AllowlistSpanProcessor":
                dropped = getattr(obj, "dropped", None)
                queue_full += dropped if isinstance(dropped, int) else 0
        return {"drops": drops, "queue_full": queue_full, "threads": thread_cpu_ns(), "rss": rss_mb(),
                "fed": dict(fed)}

    def flush() -> dict[str, Any]:
        provider: Any = trace.get_tracer_provider()
        return {"flushed": bool(provider.force_flush(60_000))}

    serve({"feed": feed, "stats": stats, "flush": flush}, {"variant": variant, "pid": os.getpid()})


# --- the parent -------------------------------------------------------------------------------


class Outage:
    """One outage mode: its GA, its child process, and what the run measured."""

    def __init__(self, mode: str, args: argparse.Namespace, tmp: str) -> None:
        from opentelemetry.exporter.google_analytics.testing import GACollector

        self.mode, self.args = mode, args
        self.ga = GACollector().start()
        self.relay = Relay(self.ga.port) if mode == "refused" else None
        port = self.ga.port
        if self.relay is not None:
            self.relay.start()
            port = self.relay.port
        env = variant_env("c", f"{tmp}/{mode}", f"otelaa-outage-{mode}:", f"http://127.0.0.1:{port}/mp/collect",
                          f"bench-outage-{mode}")
        env["OTEL_EXPORTER_GA_TIMEOUT"] = str(args.timeout)
        os.makedirs(f"{tmp}/{mode}", exist_ok=True)
        self.worker = Worker(Path(__file__), mode, env, pin=False)
        self.out: dict[str, Any] = {}
        self.error: BaseException | None = None

    def delivered(self) -> dict[str, int]:
        """Events per measurement id the collector accepted, page views and task events."""
        counts: dict[str, int] = {}
        for name in ("page_view", "celery_event"):
            for mid, (_requests, events) in collector_counts(self.ga, name).items():
                counts[mid] = counts.get(mid, 0) + events
        return counts

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the parent, after the other modes finish
            self.error = exc

    def _run(self) -> None:
        a, out = self.args, self.out
        rate = a.spans / a.outage_seconds
        self.worker.ask("feed", spans=a.warmup, seconds=a.warmup / rate, samples=1)
        healthy = self.ga.wait_for(lambda c: sum(self.delivered().values()) >= TOKENS * a.warmup, timeout=60)
        out["healthy"] = healthy
        out["rss_warm"] = self.worker.ask("stats")["rss"]
        attempts0 = len(self.ga.requests)
        if self.mode == "slow":
            self.ga.delay_next(10**7, seconds=5 * a.timeout)
        elif self.mode == "503":
            self.ga.fail_next(10**7, status=503)
        elif self.relay is not None:
            self.relay.stop()
        out["outage"] = self.worker.ask("feed", spans=a.spans, seconds=a.outage_seconds, samples=a.samples)
        out["before"] = self.delivered()
        out["attempts"] = len(self.ga.requests) - attempts0 if self.mode != "refused" else None
        out["at_recovery"] = self.worker.ask("stats")
        # GA comes back: faults cleared (the record with them: counted above), or the port open.
        self.ga.clear()
        if self.relay is not None:
            self.relay.start()
        recovered = time.monotonic()
        first: list[float] = []

        def watch() -> None:  # the moment the first hit after recovery arrives
            if self.ga.wait_for(lambda c: bool(c.hits), timeout=300):
                first.append(time.monotonic() - recovered)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        spans = int(rate * a.recovery_seconds)
        out["recovery"] = self.worker.ask("feed", spans=spans, seconds=a.recovery_seconds, samples=2)
        out["recovery_spans"] = spans
        self._settle()
        watcher.join(timeout=1)
        out["first_hit_s"] = first[0] if first else None
        out["after_by_itself"] = self.delivered()
        out["final"] = self.worker.ask("stats")
        self.worker.ask("flush")
        out["after_flush"] = self.delivered()

    def _settle(self) -> None:
        """Wait until the collector's count stops growing (the batch processor's timer included)."""
        last, still, deadline = -1, 0.0, time.monotonic() + 120
        while time.monotonic() < deadline and still < 12:
            now = sum(self.delivered().values())
            still = still + 1 if now == last else 0
            last = now
            time.sleep(1)  # polling a count the collector keeps; nothing here waits for a result

    def close(self) -> None:
        self.worker.close()
        if self.relay is not None:
            self.relay.stop()
        self.ga.close()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modes", default="slow,refused,503")
    parser.add_argument("--spans", type=int, default=(PEAK_PAGE_VIEWS_PER_S + PEAK_TASKS_PER_S) * 3600,
                        help="spans fed during the outage (default: an hour at AA's peak rates)")
    parser.add_argument("--outage-seconds", type=float, default=600)
    parser.add_argument("--recovery-seconds", type=float, default=60)
    parser.add_argument("--timeout", type=float, default=1.0, help="the exporter's timeout, seconds")
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="18,000 spans in 60 s, 20 s of recovery")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    if args.quick:
        args.spans, args.outage_seconds, args.recovery_seconds, args.warmup = 18_000, 60, 20, 1000
    tmp = tempfile.mkdtemp(prefix=f"otelaa-outage-{uuid.uuid4().hex[:6]}-")
    outages = [Outage(m, args, tmp) for m in args.modes.split(",")]
    try:
        threads = [threading.Thread(target=o.run, name=o.mode) for o in outages]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for o in outages:
            if o.error is not None:
                raise RuntimeError(f"outage {o.mode} failed") from o.error
        return report(outages, args)
    finally:
        for o in outages:
            o.close()


if __name__ == "__main__":
    sys.exit(main())
