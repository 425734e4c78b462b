"""Memory with GA down: RSS while 1,000,000 page-view spans go through otel-aa's GA pipeline.

The pipeline is the real one (``otel_aa.configure()``: sampler, privacy allowlist, batch span
processor, GA span exporter, three tokens) with the GA endpoint at a closed loopback port, so
every send is refused and retried until its budget runs out, while spans keep coming. The spans
are made by the SDK tracer directly (a million Django requests would take the better part of an
hour); each carries what the Django instrumentation and otel-aa's response hook set on a page
view. Target: RSS flat, at most +20 MB over the run after warm-up (the span queue is bounded).

Run from the repository root:

    .venv/bin/python bench/bench_memory.py            # 1,000,000 spans
    .venv/bin/python bench/bench_memory.py --spans 200000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import closed_port, platform_line, table
from bench_request import ga_tokens


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=20_000)
    args = parser.parse_args()

    os.environ.update(
        {
            "BENCH_VARIANT": "c",
            "BENCH_DIR": tempfile.mkdtemp(prefix="otelaa-bench-"),
            "DJANGO_SETTINGS_MODULE": "benchsite.settings",
            "OTEL_EXPORTER_GA_TOKENS": json.dumps(ga_tokens()),
            "OTEL_EXPORTER_GA_ENDPOINT": f"http://127.0.0.1:{closed_port()}/mp/collect",
            "OTEL_EXPORTER_GA_TIMEOUT": "2",
            "OTEL_TRACES_EXPORTER": "ga",
            "OTEL_METRICS_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        }
    )
    import django

    django.setup()
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind

    import otel_aa

    otel_aa.configure()
    tracer = trace.get_tracer("bench.memory")
    route = "character/<int:character_id>/"
    attributes = {
        "http.request.method": "GET",
        "http.method": "GET",
        "http.response.status_code": 200,
        "http.status_code": 200,
        "http.route": route,
        "http.target": "/character/90000001/?tab=assets",
        "http.url": "https://auth.bench.example/character/90000001/?tab=assets",
        "http.user_agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "net.peer.ip": "203.0.113.7",
        "ga.page.content_type": "text/html",
        "ga.page.title": "Character Sheet - Alliance Auth",
        "ga.page.language": "en-us",
    }

    def spans(n: int) -> None:
        for _ in range(n):
            with tracer.start_as_current_span(f"GET {route}", kind=SpanKind.SERVER, attributes=attributes):
                pass

    gc.collect()
    before = rss_mb()
    spans(args.warmup)  # fills the span queue (2048) while GA refuses every connection
    gc.collect()
    base = rss_mb()
    step = args.spans // args.samples
    rows = []
    start = time.perf_counter()
    done = 0
    peak = base
    for _ in range(args.samples):
        spans(step)
        done += step
        rss = rss_mb()
        peak = max(peak, rss)
        elapsed = time.perf_counter() - start
        rows.append(
            [f"{done:,}", f"{rss:.1f}", f"{rss - base:+.1f}", f"{elapsed:.0f}", f"{elapsed / done * 1e6:.1f}"]
        )
    print(platform_line())
    print(
        f"{done:,} page-view spans through otel-aa's GA pipeline, GA unreachable, "
        f"after {args.warmup:,} warm-up\n"
    )
    print(table(["spans", "RSS MB", "vs after warm-up", "seconds", "us/span"], rows))
    growth = peak - base
    print(
        f"\nRSS before the first span {before:.1f} MB, after warm-up {base:.1f} MB, "
        f"peak {peak:.1f} MB: growth {growth:+.1f} MB "
        f"(target <= +20 MB: {'ok' if growth <= 20 else 'MISSED'})"
    )
    sys.stdout.flush()
    # With GA unreachable the SDK's shutdown would wait out a retry budget: leave without it.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
