"""Throughput of the GA span exporter: mapping, limits, batching and HTTP to a loopback GA.

Runs on one core (the process is pinned where the OS allows), with the loopback collector in the
same process, so the figure includes the server's share of that core too. Prints events per
second and HTTP requests per 1,000 events per token.

    .venv/bin/python bench/bench_exporter.py [--events 20000] [--repeat 3]

Targets: >= 20,000 events/s; <= 40 requests per 1,000 events per token.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from multiprocessing.connection import Connection

from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_aa._ga_mapping import AAMapping

# Export batch sizes: 512 is BatchSpanProcessor's default; 500, a multiple of 25, fills every request.


def make_spans(n: int) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    routes = ["", "character/<int:character_id>/", "^fleet/(?P<fleet_id>[0-9]+)/$", "srp/<int:pk>/"]
    for i in range(n):
        if i % 4 == 3:  # a custom event (the generic mapping's; task events are the distro's)
            with tracer.start_as_current_span(
                "update_character",
                kind=SpanKind.INTERNAL,
                attributes={
                    "ga.event.name": "character_updated",
                    "ga.event.stream": "celery_events",
                    "ga.event.param.source": "esi",
                },
            ):
                pass
        else:
            with tracer.start_as_current_span(
                "GET",
                kind=SpanKind.SERVER,
                attributes={
                    "http.request.method": "GET",
                    "http.response.status_code": 200,
                    "http.route": routes[i % len(routes)],
                    "ga.page.content_type": "text/html",
                    "ga.page.title": "Alliance Auth - Dashboard",
                    "ga.page.language": "en-us",
                    "url.full": "https://aa.example.org/x?y=z",
                    "client.address": "203.0.113.7",
                },
            ):
                pass
    spans = list(memory.get_finished_spans())
    provider.shutdown()
    return spans


def _serve(validate_hits: bool, cpu: int | None, conn: Connection) -> None:
    """The collector, in its own process on the same core: no GIL shared with the exporter."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    with GACollector(validate=validate_hits) as ga:
        conn.send(ga.endpoint)
        conn.recv()  # the run is over
        hits = ga.hits
        conn.send((len(hits), sum(len(h.events) for h in hits), len(ga.invalid)))


def run(
    spans: list[ReadableSpan], tokens: int, validate_hits: bool, batch: int, cpu: int | None
) -> tuple[float, float, int]:
    here, there = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(validate_hits, cpu, there), daemon=True)
    server.start()
    try:
        endpoint = here.recv()
        exporter = GoogleAnalyticsSpanExporter(
            tokens=[
                {"name": f"t{i}", "measurement_id": f"G-BENCH{i:04d}", "api_secret": "bench-secret"}
                for i in range(tokens)
            ],
            endpoint=endpoint,
            client_id="bench",
            mapping=AAMapping(),  # the distro's: task runs are events too
        )
        started = time.perf_counter()
        for start in range(0, len(spans), batch):
            exporter.export(spans[start : start + batch])
        elapsed = time.perf_counter() - started
        exporter.shutdown()
        here.send("done")
        requests, events, invalid = here.recv()
    finally:
        server.join(timeout=30)
        if server.is_alive():
            server.terminate()
    assert events == len(spans) * tokens, (events, len(spans), tokens)
    per_1000 = requests / tokens / (len(spans) / 1000)
    return len(spans) / elapsed, per_1000, invalid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cpu = None
    if hasattr(os, "sched_setaffinity"):
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
    spans = make_spans(args.events)
    rows = []
    for batch, tokens, validate_hits in ((512, 1, False), (500, 1, False), (500, 2, False), (500, 1, True)):
        best = max(
            (run(spans, tokens, validate_hits, batch, cpu) for _ in range(args.repeat)),
            key=lambda row: row[0],
        )
        rate, per_1000, invalid = best
        rows.append((batch, tokens, "yes" if validate_hits else "no", rate, per_1000, invalid))
    print(
        f"{args.events} events (3/4 page views, 1/4 custom events); exporter and collector on one core;"
        f" best of {args.repeat}"
    )
    print(
        f"{'batch':>5}  {'tokens':>6}  {'GA validates':>12}  {'events/s':>10}  "
        f"{'req/1000 ev/token':>17}  invalid"
    )
    for batch, tokens, validating, rate, per_1000, invalid in rows:
        print(f"{batch:>5}  {tokens:>6}  {validating:>12}  {rate:>10,.0f}  {per_1000:>17.1f}  {invalid:>7}")


if __name__ == "__main__":
    main()
