"""``otel-aa demo``: run the embedded site, send to a loopback GA, and show what arrived.

Everything happens in this process: a :class:`~opentelemetry.exporter.google_analytics.testing.
GACollector` on 127.0.0.1 plays Google Analytics (it checks every hit against GA4's published
limits), ``otel_aa.configure()`` sets OpenTelemetry up the code way, Django runs on SQLite in a
temporary directory, and a Celery worker runs on a thread with the in-process ``memory://``
broker. Requests carry canary values (an IP, a User-Agent, cookies, a query string, a host name,
path values, a user's name and e-mail; task arguments and an exception message) in every place
private data can hide (:mod:`~otel_aa.demo.scenario`).

:mod:`~otel_aa.demo.play` runs it, :mod:`~otel_aa.demo.report` shows it. The demo shows; the
tests (``tests/demo``) assert what it shows: each token got what its flags admit, no canary
reached GA. The exit code is 0 when hits arrived and the GA stand-in found each of them valid.
"""

from __future__ import annotations

from typing import IO

from otel_aa.demo.play import Out, played
from otel_aa.demo.report import report

__all__ = ["run"]


def run(stream: IO[str], verbose: bool = False) -> int:
    """Run the demo, print progress and the report to ``stream``; return the exit code."""
    out = Out(stream, verbose)
    out.line("otel-aa demo: an embedded Alliance Auth-like site, instrumented by otel_aa, sending to a")
    out.line("Google Analytics stand-in on 127.0.0.1. No network, no services.")
    out.line()
    with played(out) as outcome:
        problems = report(out, outcome)
    return 1 if problems else 0
