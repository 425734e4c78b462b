"""Per-task cost of a Celery task, with and without analytics: the request table's shape for tasks.

Variants, each in its own process, measured in interleaved rounds in one run (the task runs
in-process through Celery's own tracer, ``Task.apply()``, which sends the same signals a worker
does):

  a  Celery alone
  b  + OpenTelemetry Celery and Django instrumentation, nothing exported
  c  + otel-aa's full GA pipeline (``otel_aa.configure()``), three tokens, to a loopback GACollector
  d  AA 3.x-style ``task_success``/``task_failure`` receivers (``aa3_middleware.py``): tokens read
     from the database, one Celery task per token queued to Redis
  e  (c) with GA unreachable (the endpoint is a closed loopback port)

Run from the repository root:

    .venv/bin/python bench/bench_task.py
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Worker,
    add_round_arguments,
    broker_messages,
    closed_port,
    delete_keys,
    interleave,
    median,
    parse_round_arguments,
    percentile,
    platform_line,
    serve,
    table,
    timed_round,
)
from bench_request import (
    _flush,
    batched_ga_table,
    start_collector,
    start_django,
    variant_env,
)

VARIANTS = {
    "a": "Celery alone",
    "b": "+ OTel Celery/Django instrumentation, nothing exported",
    "c": "+ otel-aa GA pipeline, 3 tokens, loopback GA",
    "d": "AA 3.x-style task signals (DB, Celery task per token)",
    "e": "(c) with GA unreachable",
}


def worker(variant: str) -> None:
    start_django(variant)
    from benchsite.tasks import add

    if variant == "d":
        import aa3_middleware

        aa3_middleware.connect_task_signals()
    ran = 0

    def one() -> None:
        nonlocal ran
        result = add.apply(args=(2, 3))
        if result.get() != 5:
            raise RuntimeError("task failed")
        ran += 1

    def run(n: int, flush: bool = True) -> dict[str, Any]:
        return timed_round(one, n, _flush if variant != "e" and flush else None)

    def finish() -> dict[str, Any]:
        return {"served": ran, **(_flush() if variant != "e" else {})}

    def profile(n: int, top: int = 30) -> dict[str, Any]:
        import cProfile
        import io
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            one()
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(r"otel_aa|google_analytics|instrumentation", top)
        return {"text": text.getvalue()}

    serve({"run": run, "finish": finish, "profile": profile, "flush": _flush},
          {"variant": variant, "pid": os.getpid()})


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_round_arguments(parser, per_round=60, unit="tasks")
    args = parse_round_arguments(parser)
    if args.worker:
        worker(args.worker)
        return 0
    if args.profile:
        args.variants = args.profile

    tmp = tempfile.mkdtemp(prefix="otelaa-bench-")
    prefix = f"otelaa-bench-{uuid.uuid4().hex[:8]}:"
    collector = start_collector() if set(args.variants) & set("ce") else None
    dead_port = closed_port()
    workers: list[Worker] = []
    try:
        for v in args.variants:
            live = collector.endpoint if collector is not None else ""
            endpoint = live if v != "e" else f"http://127.0.0.1:{dead_port}/mp/collect"
            env = variant_env(v, tmp, f"{prefix}{v}:", endpoint, f"bench-task-{v}")
            workers.append(Worker(Path(__file__), v, env))
        if args.profile:
            workers[0].ask("run", n=args.warmup)
            print(workers[0].ask("profile", n=args.per_round * args.rounds)["text"])
            return 0
        for w in workers:
            w.ask("run", n=args.warmup)
        slow = {"d": {"n": args.d_per_round}}
        results = interleave(workers, args.rounds, "run", slow, n=args.per_round)
        finished = {w.variant: w.ask("finish") for w in workers}

        med: dict[str, float] = {}
        rows = []
        for v in args.variants:
            samples = [ns / 1000 for r in results[v] for ns in r["ns"]]
            med[v] = median(samples)
            background = median(r["background_ns"] / 1000 / len(r["ns"]) for r in results[v])
            cpu = median(ns / 1000 for r in results[v] for ns in r["cpu_ns"])
            rows.append([v, VARIANTS[v], f"{med[v]:.0f}", f"{percentile(samples, 0.9):.0f}", f"{cpu:.0f}",
                         f"{background:.0f}"])
        for row, v in zip(rows, args.variants, strict=True):
            row.append("-" if "a" not in med or v == "a" else f"{med[v] - med['a']:+.0f}")
        print(platform_line())
        print(
            f"{args.rounds} interleaved rounds (balanced orders) x {args.per_round} tasks per variant "
            f"({args.d_per_round} for d), Task.apply() in-process\n"
        )
        print(
            table(["", "variant", "median us/task", "p90 us", "task-thread CPU us", "export CPU us/task",
                   "over (a)"], rows)
        )
        print()
        checks = []
        if {"a", "b", "c"} <= set(med):
            r = (med["c"] - med["a"]) / max(med["b"] - med["a"], 1e-9)
            checks.append(["(c-a) / (b-a)", f"{r:.2f}"])
        if {"a", "c", "d"} <= set(med):
            checks.append(["(d-a) / (c-a)", f"{(med['d'] - med['a']) / max(med['c'] - med['a'], 1e-9):.1f}"])
        if {"c", "e"} <= set(med):
            checks.append(["e / c - 1", f"{med['e'] / med['c'] - 1:+.1%}"])
        print(table(["ratio", "measured"], checks))
        print()
        rows = []
        for v in args.variants:
            ran = finished[v]["served"]
            messages = broker_messages(f"{prefix}{v}:")
            rows.append([v, ran, messages, f"{messages * 1000 / ran:.0f}"])
        print(table(["variant", "tasks run", "broker messages", "per 1,000 tasks"], rows))
        if collector is not None and "c" in args.variants:
            print()
            print(batched_ga_table(collector, workers[args.variants.index("c")], "celery_event"))
        return 0
    finally:
        for w in workers:
            w.close()
        if collector is not None:
            collector.close()
        print(f"\n(removed {delete_keys(prefix)} Redis keys under {prefix!r} in DB 13)")


if __name__ == "__main__":
    sys.exit(main())
