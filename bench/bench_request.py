"""Per-request cost of a 40 kB HTML page through Django, with and without analytics.

Variants, each in its own process, measured in interleaved rounds in one run:

  a  Django alone (Alliance Auth's middleware stack, the page served from memory)
  b  + OpenTelemetry Django and Celery instrumentation, nothing exported
     (SDK TracerProvider without processors, SDK MeterProvider without readers)
  c  + otel-aa's full GA pipeline (``otel_aa.configure()``), three tokens, to a loopback GACollector
  d  Django + an AA 3.x-style analytics middleware (``aa3_middleware.py``): tokens read from the
     database, title parsed with BeautifulSoup, one Celery task per token queued to Redis
  e  (c) with GA unreachable (the endpoint is a closed loopback port)

Run from the repository root:

    .venv/bin/python bench/bench_request.py

Prints the table, the target ratios, the broker messages per 1,000 page views and the GA requests
per 1,000 events per token. ``--profile c`` prints a cProfile of variant c's request path instead.
Loopback only; Redis DB 13 under a key prefix of its own, deleted at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Callable
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

VARIANTS = {
    "a": "Django alone",
    "b": "+ OTel Django/Celery instrumentation, nothing exported",
    "c": "+ otel-aa GA pipeline, 3 tokens, loopback GA",
    "d": "AA 3.x-style middleware (DB, BeautifulSoup, Celery task per token)",
    "e": "(c) with GA unreachable",
}
# Alliance Auth's most visited page. A route without path values: otel-aa reads its title from the
# HTML (a page about one object, e.g. /character/<int:character_id>/, sends its view name instead).
PATH = "/dashboard/"
TOKENS = 3


def ga_tokens() -> list[dict[str, Any]]:
    return [
        {"name": f"bench{i}", "measurement_id": f"G-BENCH{i:05d}", "api_secret": f"benchsecret{i}xxxxxxxx"}
        for i in range(TOKENS)
    ]


def variant_env(variant: str, tmp: str, redis_prefix: str, endpoint: str, service: str) -> dict[str, str]:
    """A worker's environment: its own files and Redis prefix; three GA tokens at ``endpoint``."""
    return {
        "BENCH_DIR": tmp,
        "BENCH_REDIS_PREFIX": redis_prefix,
        "OTEL_EXPORTER_GA_TOKENS": json.dumps(ga_tokens()),
        "OTEL_EXPORTER_GA_ENDPOINT": endpoint,
        "OTEL_EXPORTER_GA_TIMEOUT": "2",
        "OTEL_TRACES_EXPORTER": "ga",
        "OTEL_METRICS_EXPORTER": "ga",
        "OTEL_LOGS_EXPORTER": "none",
        "OTEL_SERVICE_NAME": service,
    }


# --- the child process ------------------------------------------------------------------------


def _environ() -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": PATH,
        "QUERY_STRING": "tab=assets",
        "SERVER_NAME": "auth.bench.example",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "auth.bench.example",
        "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "HTTP_ACCEPT": "text/html,application/xhtml+xml",
        "HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.8,de;q=0.5",
        "REMOTE_ADDR": "203.0.113.7",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def _setup_variant(variant: str) -> Any:
    """Turn on the variant's analytics the way a deployment would, before Django loads middleware."""
    if variant == "b":
        from opentelemetry import metrics, trace
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
        from opentelemetry.instrumentation.django import DjangoInstrumentor
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.trace import TracerProvider

        trace.set_tracer_provider(TracerProvider())
        metrics.set_meter_provider(MeterProvider())
        DjangoInstrumentor().instrument()
        CeleryInstrumentor().instrument()
    elif variant in {"c", "e"}:
        import otel_aa

        otel_aa.configure()


def _flush() -> dict[str, Any]:
    from opentelemetry import metrics, trace

    out: dict[str, Any] = {}
    provider = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        out["trace_flushed"] = bool(provider.force_flush(30_000))
    meter_provider = metrics.get_meter_provider()
    if hasattr(meter_provider, "force_flush"):
        out["metrics_flushed"] = bool(meter_provider.force_flush(30_000))
    return out


def _prepare_database(variant: str) -> None:
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    if variant == "d":
        from benchsite.models import AnalyticsIdentifier, AnalyticsPath, AnalyticsTokens

        AnalyticsIdentifier.objects.get_or_create(id=1)
        ignored = AnalyticsPath.objects.create(ignore_path="/admin/")
        for token in ga_tokens():
            row = AnalyticsTokens.objects.create(
                name=token["name"], token=token["measurement_id"], secret=token["api_secret"]
            )
            row.ignore_paths.add(ignored)


def start_django(variant: str) -> None:
    """Set up a worker child's Django for ``variant`` (its instrumentation, its database)."""
    os.environ["BENCH_VARIANT"] = variant
    os.environ["DJANGO_SETTINGS_MODULE"] = "benchsite.settings"
    _setup_variant(variant)

    import django

    django.setup()
    _prepare_database(variant)


def page_server(label: str) -> Callable[[], int]:
    """Serve the benchmark's page once, in-process through Django's WSGI handler; return its size."""
    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        if not status.startswith("200"):
            raise RuntimeError(f"{label}: {status}")

    def one() -> int:
        response = app(_environ(), start_response)
        size = sum(len(chunk) for chunk in response)
        response.close()
        return size

    return one


def worker(variant: str) -> None:
    start_django(variant)
    serve_page = page_server(f"variant {variant}")
    served = 0

    def one() -> int:
        nonlocal served
        size = serve_page()
        served += 1
        return size

    size = one()
    if size != 40 * 1024:
        raise RuntimeError(f"page is {size} bytes")

    def run(n: int, flush: bool = True) -> dict[str, Any]:
        # Export happens on the BatchSpanProcessor's thread; charge it to the round, too. Not in
        # (e): with GA unreachable a flush would wait out the exporter's retry budget.
        return timed_round(one, n, _flush if variant != "e" and flush else None)

    def profile(n: int, top: int = 35) -> dict[str, Any]:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(n):
            one()
        if variant != "e":  # with GA unreachable a flush would wait out the retry budget
            _flush()
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        # Where otel-aa's own code spends its time.
        stats.sort_stats("cumulative").print_stats(r"otel_aa|google_analytics", top)
        stats.print_callees(r"django_response_hook|on_end|consume_measurement|process_request|process_response|_start_internal_or_server_span|collect_request_attributes")
        return {"text": text.getvalue()}

    def finish() -> dict[str, Any]:
        return {"served": served, **(_flush() if variant != "e" else {})}

    serve({"run": run, "profile": profile, "finish": finish, "flush": _flush},
          {"variant": variant, "pid": os.getpid()})


# --- the parent -------------------------------------------------------------------------------


def start_collector() -> Any:
    from opentelemetry.exporter.google_analytics.testing import GACollector

    collector = GACollector()
    collector.start()
    return collector


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_round_arguments(parser, per_round=40, unit="requests")
    args = parse_round_arguments(parser)
    if args.worker:
        worker(args.worker)
        return 0

    variants = args.profile or args.variants
    tmp = tempfile.mkdtemp(prefix="otelaa-bench-")
    prefix = f"otelaa-bench-{uuid.uuid4().hex[:8]}:"
    collector = start_collector() if set(variants) & set("ce") else None
    dead_port = closed_port()
    workers: list[Worker] = []
    try:
        for v in variants:
            live = collector.endpoint if collector is not None else ""
            endpoint = live if v != "e" else f"http://127.0.0.1:{dead_port}/mp/collect"
            env = variant_env(v, tmp, f"{prefix}{v}:", endpoint, f"bench-{v}")
            workers.append(Worker(Path(__file__), v, env))
        if args.profile:
            workers[0].ask("run", n=args.warmup)
            print(workers[0].ask("profile", n=args.per_round * args.rounds)["text"])
            return 0
        for w in workers:
            # (e) warms up past the span queue's capacity (OTEL_BSP_MAX_QUEUE_SIZE, 2048): GA down
            # for long means a full queue, which is the state to price.
            w.ask("run", n=max(args.warmup, 2100) if w.variant == "e" else args.warmup)
        slow = {"d": {"n": args.d_per_round}}
        results = interleave(workers, args.rounds, "run", slow, n=args.per_round)
        finished = {w.variant: w.ask("finish") for w in workers}
        report(variants, results, finished, collector, prefix, args)
        if collector is not None and "c" in variants:
            print()
            print(batched_ga_table(collector, workers[variants.index("c")]))
        return 0
    finally:
        for w in workers:
            w.close()
        if collector is not None:
            collector.close()
        removed = delete_keys(prefix)
        print(f"\n(removed {removed} Redis keys under {prefix!r} in DB 13)")


def report(
    variants: str,
    results: dict[str, list[dict[str, Any]]],
    finished: dict[str, dict[str, Any]],
    collector: Any,
    prefix: str,
    args: argparse.Namespace,
) -> None:
    med: dict[str, float] = {}
    cpu: dict[str, float] = {}
    rows = []
    for v in variants:
        samples = [ns / 1000 for r in results[v] for ns in r["ns"]]
        per_round = [median(ns / 1000 for ns in r["ns"]) for r in results[v]]
        med[v] = median(samples)
        cpu[v] = median(ns / 1000 for r in results[v] for ns in r["cpu_ns"])
        background = median(r["background_ns"] / 1000 / len(r["ns"]) for r in results[v])
        rows.append(
            [
                v,
                VARIANTS[v],
                f"{med[v]:.0f}",
                f"{percentile(samples, 0.9):.0f}",
                f"{min(per_round):.0f}-{max(per_round):.0f}",
                f"{cpu[v]:.0f}",
                f"{background:.0f}",
            ]
        )
    base = med.get("a")
    for row, v in zip(rows, variants, strict=True):
        row.append("-" if base is None or v == "a" else f"{med[v] - base:+.0f}")
    print(platform_line())
    print(
        f"{args.rounds} interleaved rounds (balanced orders) x {args.per_round} requests per variant "
        f"({args.d_per_round} for d; after {args.warmup} warm-up), "
        f"GET {PATH}, 40 kB text/html, in-process WSGI\n"
    )
    print(
        table(
            [
                "",
                "variant",
                "median us/req",
                "p90 us",
                "round medians",
                "request-thread CPU us",
                "export CPU us/req",
                "over (a)",
            ],
            rows,
        )
    )
    print()
    checks = []
    if {"a", "b", "c"} <= set(med):
        r = (med["c"] - med["a"]) / max(med["b"] - med["a"], 1e-9)
        checks.append(["(c-a) / (b-a)", f"{r:.2f}", "<= 1.2", "ok" if r <= 1.2 else "MISSED"])
    if {"a", "b", "c"} <= set(cpu):
        r = (cpu["c"] - cpu["a"]) / max(cpu["b"] - cpu["a"], 1e-9)
        checks.append(["(c-a) / (b-a), request-thread CPU", f"{r:.2f}", "(for comparison)", ""])
    if {"a", "c", "d"} <= set(med):
        r = (med["d"] - med["a"]) / max(med["c"] - med["a"], 1e-9)
        checks.append(["(d-a) / (c-a)", f"{r:.1f}", ">= 20", "ok" if r >= 20 else "MISSED"])
    for p in "e":
        if {"c", p} <= set(med):
            r = med[p] / med["c"] - 1
            target = "within +-5%"
            checks.append([f"{p} / c - 1", f"{r:+.1%}", target, "ok" if abs(r) <= 0.05 else "MISSED"])
    print(table(["ratio", "measured", "target", ""], checks))
    print()

    rows = []
    for v in variants:
        served = finished[v]["served"]
        messages = broker_messages(f"{prefix}{v}:")
        rows.append([v, served, messages, f"{messages * 1000 / served:.0f}"])
    print(table(["variant", "page views", "broker messages", "per 1,000 page views"], rows))


#: Units (c) runs at the end without a flush per round, for the GA requests table: the rounds'
#: flushes each send a partial request, which the SDK's batching alone would not.
BATCHED_UNITS = 2000


def batched_ga_table(collector: Any, worker: Worker, name: str = "page_view") -> str:
    """(c) runs :data:`BATCHED_UNITS` units, batched as in production, then flushes once."""
    since = len(collector.hits)
    worker.ask("run", n=BATCHED_UNITS, flush=False)
    worker.ask("flush")
    return ga_table(collector, {worker.variant: BATCHED_UNITS}, name, since)


def ga_table(collector: Any, served: dict[str, int], name: str = "page_view", since: int = 0) -> str:
    """GA requests and ``name`` events per token as the collector saw them (the variants share it)."""
    per_token = collector_counts(collector, name, since)
    rows = []
    for mid, (requests, events) in sorted(per_token.items()):
        rate = f"{requests * 1000 / events:.1f}" if events else "-"
        rows.append([mid, requests, events, rate])
    total = sum(served.values())
    return f"GA collector (variants {'+'.join(served)}: {total} {name} events per token expected)\n" + table(
        ["measurement id", "HTTP requests", f"{name} events", "requests per 1,000 events"], rows
    )


def collector_counts(collector: Any, name: str, since: int = 0) -> dict[str, tuple[int, int]]:
    counts: dict[str, list[int]] = {}
    for hit in collector.hits[since:]:
        # The daily-stats sends (a few events per process) are not what is counted.
        views = sum(
            1
            for e in hit.events
            if e.get("name") == name
            and e.get("params", {}).get("task") != "send_install_stats"
            and e.get("params", {}).get("task") != "send_extension_stats"
        )
        if views:
            entry = counts.setdefault(hit.query.get("measurement_id", "?"), [0, 0])
            entry[0] += 1
            entry[1] += views
    return {k: (v[0], v[1]) for k, v in counts.items()}


if __name__ == "__main__":
    sys.exit(main())
