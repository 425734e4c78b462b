"""Instructions per event and token of a GA export, beside a plain-Python lower bound, in one run.

What is counted: ``GoogleAnalyticsSpanExporter.export()`` of finished spans as the allowlist hands
them to the GA exporter (page views and custom events; mapping, limits, JSON, HTTP to a loopback
GA that answers 204), for 1, 3 and 10 tokens, in batches of 500 (the batch size otel-aa uses).
The lower bound does the same work in the plainest Python: it maps each span's few attributes
into an event dict, ``json.dumps`` each body of 25 events once, and POSTs it to each token on one
kept-alive ``http.client`` connection to the same loopback server; a second lower bound POSTs
the same bodies through the urllib3 pool of a ``requests`` session's adapter instead (the floor
for any exporter that keeps ``requests`` as its transport). All run in one worker process
under ``valgrind --tool=callgrind``: counters zeroed before a variant, dumped after it, so only
that variant's instructions count (all the worker's threads; the collector runs in this parent
process, outside valgrind). Instruction counts repeat exactly for the same code and input, so one
run suffices and the ratio is not machine noise. Each variant runs once untimed first (warm-up:
imports, connection set-up, caches).

    .venv/bin/python bench/bench_export_cost.py [--events 500] [--tokens 1,3,10] [--exporter-src DIR]

How to read it: "per event and token" is the variant's instructions / (events x tokens); the ratio
columns are the exporter's figure over each lower bound's for the same token count. Target
(issue 13): at most 2x the plain lower bound. Per request, urllib3 costs about twice what
``http.client`` does, so the more tokens, the more of the exporter's remainder is its transport.
``--profile`` prints a cProfile of the exporter with 3 tokens instead (no valgrind).
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Worker, serve, table

SCRIPT = Path(__file__).resolve()
BATCH = 500
VARIANTS = ("lower", "pool", "exporter")
#: Attributes as the allowlist leaves them (otel_aa.privacy): nothing else reaches the exporter.
ROUTES = ("character/<int:character_id>/", "fleet/<int:fleet_id>/", "srp/<int:pk>/", "")


def _make_spans(n: int) -> list[Any]:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import SpanKind

    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    for i in range(n):
        if i % 4 == 3:  # a custom event (analytics_event()), 1 in 4
            attributes: dict[str, Any] = {"ga.event.name": "bench_event", "ga.event.stream": "celery_events",
                                          "ga.event.param.kind": "update", "ga.event.param.value": i % 7}
            kind = SpanKind.INTERNAL
        else:
            route = ROUTES[i % len(ROUTES)]
            attributes = {"http.request.method": "GET", "http.response.status_code": 200,
                          "http.route": route, "ga.page.route": route,
                          "ga.page.content_type": "text/html", "ga.page.title": "authentication:dashboard",
                          "ga.page.language": "en"}
            kind = SpanKind.SERVER
        with tracer.start_as_current_span("GET", kind=kind, attributes=attributes):
            pass
    provider.shutdown()
    # As otel_aa's allowlist hands them over: a new span whose attributes are a plain dict of the
    # kept ones, no events, links or resource attributes (otel_aa.privacy's reduced copy).
    return [ReadableSpan(name=s.name, context=s.context, attributes=dict(s.attributes or {}), kind=s.kind,
                         start_time=s.start_time, end_time=s.end_time, status=s.status, resource=Resource({}))
            for s in memory.get_finished_spans()]


def _tokens(n: int) -> list[dict[str, str]]:
    return [{"name": f"t{i}", "measurement_id": f"G-BENCH{i:04d}", "api_secret": f"bench-secret-{i}"}
            for i in range(n)]


# --- the worker ------------------------------------------------------------------------------------


class _LowerBound:
    """The same job in plain Python: map, one json.dumps per 25 events, one POST per token and body.

    ``on_pool``: POST through the urllib3 pool of a ``requests`` session's adapter instead of
    ``http.client``: the floor of any exporter that keeps ``requests`` as its transport.
    """

    def __init__(self, endpoint: str, tokens: int, on_pool: bool = False) -> None:
        parts = urlsplit(endpoint)
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        queries = (urlencode({"measurement_id": t["measurement_id"], "api_secret": t["api_secret"]})
                   for t in _tokens(tokens))
        self.paths = [f"{parts.path}?{query}" for query in queries]
        self.headers = {"Content-Type": "application/json"}
        self.pool = None
        if on_pool:
            import requests

            adapter = requests.adapters.HTTPAdapter()
            self.session = requests.Session()
            self.session.mount("http://", adapter)
            self.pool = adapter.get_connection_with_tls_context(
                requests.Request("POST", endpoint).prepare(), True, proxies={}, cert=None)

    def export(self, spans: list[Any]) -> None:
        events = []
        for span in spans:
            a = span.attributes
            micros = span.end_time // 1000
            name = a.get("ga.event.name")
            if name is not None:
                params = {"kind": a["ga.event.param.kind"], "value": a["ga.event.param.value"]}
            else:
                params = {"page_location": "https://site.invalid/" + a["http.route"],
                          "page_title": a["ga.page.title"], "language": a["ga.page.language"]}
                name = "page_view"
            params["engagement_time_msec"] = max(1, (span.end_time - span.start_time) // 1_000_000)
            params["session_id"] = str(micros // 1_000_000 // 1800 * 1800)
            events.append({"name": name, "params": params, "timestamp_micros": micros})
        for start in range(0, len(events), 25):
            body = json.dumps({"client_id": "bench", "non_personalized_ads": True,
                               "events": events[start:start + 25]}).encode()
            for path in self.paths:
                if self.pool is not None:
                    self.pool.urlopen("POST", path, body=body, headers=self.headers, retries=False,
                                      redirect=False, timeout=10.0)
                else:
                    self.conn.request("POST", path, body, self.headers)
                    self.conn.getresponse().read()


def _worker(endpoint: str, events: int) -> None:
    source = os.environ.get("BENCH_EXPORTER_SRC")
    if source:  # another tree's exporter (see --exporter-src), ahead of the installed one
        sys.path.insert(0, source)
    from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter

    spans = _make_spans(events)
    exporters: dict[str, Any] = {}

    def export(variant: str, tokens: int) -> dict[str, Any]:
        key = f"{variant}:{tokens}"
        if key not in exporters:
            exporters[key] = _LowerBound(endpoint, tokens, variant == "pool") if variant != "exporter" else \
                GoogleAnalyticsSpanExporter(tokens=_tokens(tokens), endpoint=endpoint, client_id="bench",
                                            validate=False)
        exporter = exporters[key]
        for start in range(0, len(spans), BATCH):
            exporter.export(spans[start:start + BATCH])
        return {}

    serve({"export": export}, {"pid": os.getpid()})


# --- the parent ----------------------------------------------------------------------------------


def _control(option: str, pid: int) -> None:
    import subprocess

    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True, timeout=120)


def _instructions(out: str) -> int:
    """All threads' instructions in the dumps written under ``out``; the dumps are deleted."""
    import re

    total = 0
    for path in glob.glob(f"{out}.*"):
        text = Path(path).read_text(errors="replace")
        match = re.search(r"^(?:summary|totals):\s*(\d+)", text, re.MULTILINE)
        total += int(match.group(1)) if match else 0
        os.remove(path)
    return total


def _measure(endpoint: str, events: int, token_counts: list[int],
             exporter_src: str | None) -> dict[tuple[str, int], int]:
    tmp = tempfile.mkdtemp(prefix="otelaa-bench-export-")
    out = os.path.join(tmp, "cg")
    prefix = ["valgrind", "-q", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no",
              "--collect-jumps=no"]
    env = {"BENCH_ENDPOINT": endpoint, "BENCH_EVENTS": str(events),
           "BENCH_EXPORTER_SRC": os.path.abspath(exporter_src) if exporter_src else ""}
    worker = Worker(SCRIPT, "cost", env, prefix=prefix, pin=False)
    pid = int(worker.ready["pid"])
    counts = {}
    try:
        for tokens in token_counts:
            for variant in VARIANTS:
                worker.ask("export", variant=variant, tokens=tokens)  # warm-up, not counted
                _control("-z", pid)
                worker.ask("export", variant=variant, tokens=tokens)
                _control("-d", pid)
                counts[(variant, tokens)] = _instructions(out)
    finally:
        worker.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return counts


def _profile(endpoint: str, events: int) -> None:
    import cProfile
    import pstats

    from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter

    spans = _make_spans(events)
    exporter = GoogleAnalyticsSpanExporter(tokens=_tokens(3), endpoint=endpoint, client_id="bench",
                                           validate=False)
    exporter.export(spans[:BATCH])
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        exporter.export(spans[:BATCH])
    profiler.disable()
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--tokens", default="1,3,10")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--exporter-src", metavar="DIR",
                        help="measure the exporter of another tree's src/ (e.g. from `git archive` of "
                             "an earlier commit): before/after figures in one way")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(os.environ["BENCH_ENDPOINT"], int(os.environ["BENCH_EVENTS"]))
        return 0
    from opentelemetry.exporter.google_analytics.testing import GACollector

    with GACollector(validate=False) as ga:
        if args.profile:
            _profile(ga.endpoint, args.events)
            return 0
        if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
            print("valgrind (with callgrind_control) is not installed: apt-get install valgrind")
            return 1
        token_counts = [int(t) for t in args.tokens.split(",")]
        counts = _measure(ga.endpoint, args.events, token_counts, args.exporter_src)
        received = sum(len(hit.events) for hit in ga.hits)
    expected = 2 * len(VARIANTS) * args.events * sum(token_counts)  # warm-up + counted
    assert received == expected, f"the loopback GA got {received} events, expected {expected}"
    rows = []
    for tokens in token_counts:
        per = {v: counts[(v, tokens)] / (args.events * tokens) for v in VARIANTS}
        rows.append([tokens, f"{per['lower']:,.0f}", f"{per['pool']:,.0f}", f"{per['exporter']:,.0f}",
                     f"{per['exporter'] / per['lower']:.2f}", f"{per['exporter'] / per['pool']:.2f}"])
    print(f"callgrind; {args.events} events (3/4 page views, 1/4 custom events), batches of {BATCH}; "
          "instructions per event and token\n")
    print(table(["tokens", "lower bound (http.client)", "lower bound on requests' pool", "exporter",
                 "exporter / lower bound (target <= 2)", "exporter / lower bound on the pool"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
