"""Requests don't wait for the export: page latency while an export runs, against idle.

One process runs otel-aa's full GA pipeline (``otel_aa.configure()``, three tokens, a loopback
GACollector in the parent on another CPU) and serves the 40 kB page of ``bench_request.py``
back to back on one thread, in-process (a busy sync worker with no socket I/O between requests:
the worst case, since a real worker's socket reads and writes release the GIL). Two kinds of
round, interleaved in balanced order so the machine's drift lands on both alike:

  idle       the span queue was just flushed; N requests (flushed again, untimed, before each
             499), no export runs (checked: no other thread of the process gets CPU meanwhile)
  exporting  the queue is filled to the batch size (500 spans, otel-aa's GA batch), so the SDK's
             export thread starts an export of 500 spans x 3 tokens, as it does under load;
             the requests served from the first one the export thread ran during to the last
             one are timed

Nothing of the exporter is touched: the export is told apart from the request thread by the
CPU clocks of the process's threads (``pthread_getcpuclockid``), whatever thread the SDK uses.

Run from the repository root:

    .venv/bin/python bench/bench_export_latency.py           # ~3 min
    .venv/bin/python bench/bench_export_latency.py --quick   # ~30 s, to check it runs

How to read it: "overhead" is the exporting rounds' mean and p99 over the idle rounds'. The
"idle vs idle" line is the same comparison between two halves of the idle rounds: the noise.
The export table gives the export thread's CPU per export; "request time lost per export" is
what the exporting round's requests took beyond idle requests, summed. When that loss matches
the export's CPU, the requests wait exactly for the export's own work holding the GIL (one
interpreter runs one thread at a time): the remaining lever is the export's CPU itself, shown
per event and token, and spread over a busy worker's pages as "export CPU per page view".
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Worker,
    background_cpu_ns,
    balanced_orders,
    delete_keys,
    median,
    percentile,
    platform_line,
    serve,
    table,
    thread_cpu_ns,
)
from bench_request import (
    TOKENS,
    page_server,
    start_collector,
    start_django,
    variant_env,
)
from opentelemetry.exporter.google_analytics import RECOMMENDED_EXPORT_BATCH_SIZE

#: Another thread ran during a request when the process's other threads gained more CPU than
#: this: the two clock reads behind ``background_cpu_ns`` are not one atomic read, and their
#: jitter (well under a microsecond) must not count as an export running.
RAN_NS = 5_000
#: The export thread's name in the SDK (``OtelBatchSpanRecordProcessor`` today); only for the
#: per-thread figure: the rounds are classified by all other threads' CPU.
EXPORT_THREAD_PREFIX = "OtelBatchSpan"


# --- the child process ------------------------------------------------------------------------


def worker(variant: str) -> None:
    start_django(variant)
    from opentelemetry import trace

    serve_page = page_server(f"variant {variant}")

    def one() -> None:
        serve_page()

    def flush() -> None:
        provider: Any = trace.get_tracer_provider()
        provider.force_flush(30_000)

    def export_cpu() -> int:
        return sum(ns for name, ns in thread_cpu_ns().items() if name.startswith(EXPORT_THREAD_PREFIX))

    def timed(n: int) -> tuple[list[int], int]:
        """Time ``n`` requests; count those during which another thread (the export) got CPU."""
        samples: list[int] = []
        overlapped = 0
        clock = time.perf_counter_ns
        for _ in range(n):
            b0, t0 = background_cpu_ns(), clock()
            one()
            t1, b1 = clock(), background_cpu_ns()
            samples.append(t1 - t0)
            overlapped += b1 - b0 > RAN_NS
        return samples, overlapped

    def idle(n: int) -> dict[str, Any]:
        # Flushed (untimed) before every batch's worth: the batch-th span would start an export.
        samples: list[int] = []
        overlapped = e = b = 0
        while len(samples) < n:
            flush()
            e0, b0 = export_cpu(), background_cpu_ns()
            chunk, ran = timed(min(n - len(samples), RECOMMENDED_EXPORT_BATCH_SIZE - 1))
            e, b = e + export_cpu() - e0, b + background_cpu_ns() - b0
            samples += chunk
            overlapped += ran
        return {"ns": samples, "overlapped": overlapped, "export_cpu_ns": e, "background_ns": b}

    def exporting(n: int) -> dict[str, Any]:
        flush()
        for _ in range(RECOMMENDED_EXPORT_BATCH_SIZE):  # the last span wakes the export thread
            one()
        e0, b0 = export_cpu(), background_cpu_ns()
        samples, overlapped = timed(n)
        return {"ns": samples, "overlapped": overlapped, "export_cpu_ns": export_cpu() - e0,
                "background_ns": background_cpu_ns() - b0}

    def warm(n: int) -> dict[str, Any]:
        for _ in range(n):
            one()
        flush()
        return {}

    def flushed() -> dict[str, Any]:
        flush()
        return {}

    serve({"idle": idle, "exporting": exporting, "warm": warm, "flush": flushed},
          {"variant": variant, "pid": os.getpid()})


# --- the parent -------------------------------------------------------------------------------


def stats(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "p50": percentile(values, 0.5),
            "p90": percentile(values, 0.9), "p99": percentile(values, 0.99)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=30, help="rounds of each kind")
    # A round must outlast an export: under load one takes 0.5-2 s (the export thread gets the GIL
    # back once per switch interval after each of its socket calls).
    parser.add_argument("--per-round", type=int, default=1000, help="requests per round")
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="4 rounds of 500: a check that it runs")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    if args.quick:
        args.rounds, args.per_round, args.warmup = 4, 500, 600

    tmp = tempfile.mkdtemp(prefix="otelaa-bench-")
    prefix = f"otelaa-bench-{uuid.uuid4().hex[:8]}:"
    collector = start_collector()
    env = variant_env("c", tmp, f"{prefix}c:", collector.endpoint, "bench-latency")
    # Exports start only when the queue holds a batch (as under load), never on the timer.
    env["OTEL_BSP_SCHEDULE_DELAY"] = "3600000"
    w = Worker(Path(__file__), "c", env)
    results: dict[str, list[dict[str, Any]]] = {"idle": [], "exporting": []}
    try:
        w.ask("warm", n=args.warmup)
        orders = balanced_orders(2)
        for r in range(2 * args.rounds):
            order = orders[(r // 2) % len(orders)]
            kind = ("idle", "exporting")[order[r % 2]]
            if kind == "idle":
                results[kind].append(w.ask("idle", n=args.per_round))
            else:
                # Flushed first, apart, so that the collector's count over the round is the
                # round's own exports (the batch processor exports only full batches meanwhile).
                w.ask("flush")
                before = len(collector.events("page_view"))
                result = w.ask("exporting", n=args.per_round)
                result["events"] = len(collector.events("page_view")) - before
                results[kind].append(result)
        report(results, args)
        return 0
    finally:
        w.close()
        collector.close()
        delete_keys(prefix)


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    us = {k: [ns / 1000 for r in rs for ns in r["ns"]] for k, rs in results.items()}
    s = {k: stats(v) for k, v in us.items()}
    print(platform_line())
    print(f"{args.rounds} idle and {args.rounds} exporting rounds, interleaved (balanced orders); "
          f"idle rounds of {args.per_round} requests; GET /dashboard/, 40 kB, in-process WSGI, "
          f"{TOKENS} tokens, loopback GA\n")
    rows = []
    for kind in ("idle", "exporting"):
        rows.append([kind, len(us[kind]), *(f"{s[kind][q]:.0f}" for q in ("mean", "p50", "p90", "p99"))])
    print(table(["round", "requests", "mean us", "p50 us", "p90 us", "p99 us"], rows))

    # The noise: idle against idle, two halves (alternate rounds) of the same kind. And the same
    # comparisons from the median of the rounds' own figures, which a few preempted rounds (a
    # shared machine) move less than the pooled percentiles.
    halves = [[ns / 1000 for r in results["idle"][i::2] for ns in r["ns"]] for i in (0, 1)]
    a, b = stats(halves[0]), stats(halves[1])
    rounds = {k: [stats([ns / 1000 for ns in r["ns"]]) for r in rs] for k, rs in results.items()}
    by_round = {k: {q: median(x[q] for x in v) for q in ("mean", "p99")} for k, v in rounds.items()}
    half_rounds = [{q: median(x[q] for x in rounds["idle"][i::2]) for q in ("mean", "p99")} for i in (0, 1)]

    def change(x: dict[str, float], y: dict[str, float]) -> list[str]:
        return [f"{x[q] / y[q] - 1:+.1%}" for q in ("mean", "p99")]

    print()
    print(table(["comparison", "mean", "p99", "target"], [
        ["exporting / idle - 1 (overhead), pooled", *change(s["exporting"], s["idle"]), "< 5% each"],
        ["  the same, median of rounds", *change(by_round["exporting"], by_round["idle"]), ""],
        ["idle / idle - 1 (noise: alternate idle rounds), pooled", *change(b, a), ""],
        ["  the same, median of rounds", *change(half_rounds[1], half_rounds[0]), ""],
    ]))
    idle_overlap = sum(r["overlapped"] for r in results["idle"])
    print(f"\nidle requests during which another thread ran: {idle_overlap} of {len(us['idle'])}")

    exp = results["exporting"]
    per_export = RECOMMENDED_EXPORT_BATCH_SIZE * TOKENS  # events in one export
    exports = sum(r["events"] for r in exp) / per_export
    cpu_ms = sum(r["export_cpu_ns"] for r in exp) / 1e6
    bg_ms = sum(r["background_ns"] for r in exp) / 1e6
    lost_ms = (sum(us["exporting"]) - len(us["exporting"]) * s["idle"]["mean"]) / 1000
    overlapped = sum(r["overlapped"] for r in exp)
    cpu_per_export = cpu_ms / max(exports, 1e-9)
    page_us = cpu_per_export * 1000 / RECOMMENDED_EXPORT_BATCH_SIZE
    print(f"\nexporting rounds: each starts with a batch of {RECOMMENDED_EXPORT_BATCH_SIZE} spans queued; "
          "more keep coming, so exports follow one another as they do on a busy worker")
    print(table(["exporting rounds, summed", "value"], [
        [f"exports done ({per_export} events each, counted at the collector)", f"{exports:.1f}"],
        ["requests the export thread ran during", f"{overlapped} of {len(us['exporting'])}"],
        [f"export thread CPU ms ({EXPORT_THREAD_PREFIX}*)", f"{cpu_ms:.0f}"],
        ["all other threads' CPU ms", f"{bg_ms:.0f}"],
        ["request time lost ms (sum of exporting requests - their count x idle mean)", f"{lost_ms:.0f}"],
        ["lost / export thread CPU", f"{lost_ms / max(cpu_ms, 1e-9):.2f}"],
        ["export thread CPU ms per export", f"{cpu_per_export:.1f}"],
        ["  per event and token, us", f"{cpu_per_export * 1000 / per_export:.1f}"],
        [f"  per page view, us (one export per {RECOMMENDED_EXPORT_BATCH_SIZE} pages)", f"{page_us:.0f}"],
        ["  as a share of an idle page's mean time", f"{page_us / s['idle']['mean']:.1%}"],
    ]))

if __name__ == "__main__":
    sys.exit(main())
