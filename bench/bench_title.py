"""The response hook's cost for a crafted page title against a benign one, as a ratio (issue 10).

Before issue 10 the hook scrubbed HTML titles with an e-mail pattern that backtracked
quadratically on one crafted title (``"a" * 4000 + "@"``): one request cost 100-200x its normal
time, on the request thread. Now the default mode reads no content at all (the title is the
view name) and the opt-in ``html`` mode finds the title with one forward scan. This script runs
otel-aa's real response hook (real Django request and response, a real SDK span) on a benign and
a crafted page, interleaved, in both modes, and prints each one's median cost and the
crafted/benign ratio side by side; the last line is the old scrubber's pattern on the same two
titles, for comparison.

Run from the repository root:

    .venv/bin/python bench/bench_title.py [--rounds 30] [--calls 200]

No network; the test project's settings (``tests/_site``) provide a URLconf.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "_site.settings")

import django  # noqa: E402

django.setup()

from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.urls import resolve  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402

from otel_aa import _config as config  # noqa: E402
from otel_aa import _django_hook as django_hook  # noqa: E402
from otel_aa import _titles as titles  # noqa: E402

BENIGN = "Dashboard - Alliance Auth"
CRAFTED = "a" * 4000 + "@"  # within the 4 KiB the html mode reads
# The pre-issue-10 scrubber's e-mail pattern, kept here only to show what was measured then.
_OLD_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _page(title: str) -> HttpResponse:
    return HttpResponse(f"<!DOCTYPE html><html><head><title>{title}</title></head><body>x</body></html>",
                        content_type="text/html; charset=utf-8")


def _hook_call(title: str) -> Callable[[], None]:
    tracer = TracerProvider().get_tracer("bench")
    response = _page(title)
    request = RequestFactory().get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9")
    request.resolver_match = resolve("/")
    visitor = [0]

    def call() -> None:
        visitor[0] += 1
        request.META["REMOTE_ADDR"] = f"10.0.{visitor[0] // 250 % 250}.{visitor[0] % 250}"
        span = tracer.start_span("GET", kind=SpanKind.SERVER)
        django_hook.django_response_hook(span, request, response)
        span.end()

    return call


def _old_scrub_call(title: str) -> Callable[[], None]:
    return lambda: _OLD_EMAIL.sub("…", title) and None


def _median_cost(call: Callable[[], None], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default 30)")
    parser.add_argument("--calls", type=int, default=200, help="calls per variant per round (default 200)")
    args = parser.parse_args()

    rows: list[tuple[str, float, float]] = []
    for mode in ("view_name", "html"):
        os.environ["OTEL_AA_PAGE_TITLE"] = mode
        config.reload()  # settings are resolved once, as at start-up
        titles._SEEN.clear()
        benign, crafted = _hook_call(BENIGN), _hook_call(CRAFTED)
        rows.append((f"response hook, OTEL_AA_PAGE_TITLE={mode}", *_interleaved(benign, crafted, args)))
    old_calls = max(1, args.calls // 20)  # the crafted case is slow: fewer calls, same rounds
    rows.append(("old scrubber's e-mail pattern (before issue 10)",
                 *_interleaved(_old_scrub_call(BENIGN), _old_scrub_call(CRAFTED), args, old_calls)))

    print(f"{'variant':52} {'benign µs':>10} {'crafted µs':>11} {'ratio':>7}")
    for name, benign_cost, crafted_cost in rows:
        ratio = crafted_cost / benign_cost
        print(f"{name:52} {benign_cost * 1e6:10.1f} {crafted_cost * 1e6:11.1f} {ratio:7.2f}")
    print(f"(median of {args.rounds} rounds; crafted title: {len(CRAFTED)} characters)")


def _interleaved(benign: Callable[[], None], crafted: Callable[[], None], args: argparse.Namespace,
                 calls: int | None = None) -> tuple[float, float]:
    # Alternating order per round: drift and warm-up land on both alike.
    n = calls or args.calls
    costs: dict[str, list[float]] = {"benign": [], "crafted": []}
    for round_ in range(args.rounds):
        order = [("benign", benign), ("crafted", crafted)]
        for name, call in order if round_ % 2 == 0 else reversed(order):
            costs[name].append(_median_cost(call, n))
    return statistics.median(costs["benign"]), statistics.median(costs["crafted"])


if __name__ == "__main__":
    main()
