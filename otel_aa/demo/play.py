"""The demo's run: the example site, a Celery worker thread and a loopback GA, all in this process.

:func:`played` sets it all up, plays :mod:`~otel_aa.demo.scenario` (requests through Django,
three tasks, the daily stats), flushes, and hands over what came of it (:class:`Played`) to be
shown (:mod:`~otel_aa.demo.report`) or checked (the tests). Nothing here judges the outcome.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import IO, Any

from otel_aa.demo import scenario

__all__ = ["Out", "Played", "played"]


class Out:
    """The demo's console: progress steps with the time since start, details when verbose."""

    def __init__(self, stream: IO[str], verbose: bool = False) -> None:
        self._stream = stream
        self.verbose = verbose
        self._started = time.monotonic()

    def line(self, text: str = "") -> None:
        self._stream.write(text + "\n")
        self._stream.flush()

    def step(self, text: str) -> None:
        self.line(f"[{time.monotonic() - self._started:5.1f}s] {text}")

    def detail(self, text: str) -> None:
        if self.verbose:
            self.line(f"         {text}")


@dataclass
class Played:
    """What a run left: the GA stand-in's record, the spans before the allowlist, the visit."""

    collector: Any  # GACollector: imported late, so that `otel-aa --help` loads nothing
    spans: list[Any]
    session_key: str
    flushed: bool


class _Capture:
    """A span processor keeping every finished span (as instrumented, before the allowlist)."""

    def __init__(self) -> None:
        self.spans: list[Any] = []
        self._condition = threading.Condition()

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        """Nothing to do when a span starts."""

    def _on_ending(self, span: Any) -> None:
        """Nothing to do before a span ends."""

    def on_end(self, span: Any) -> None:
        with self._condition:
            self.spans.append(span)
            self._condition.notify_all()

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: predicate(self.spans), timeout=timeout)


@contextmanager
def _demo_environment(values: dict[str, str]) -> Iterator[None]:
    """Only the demo's own settings: no OTEL_* or GA setting of the caller's shell leaks in."""
    saved = dict(os.environ)
    for name in list(os.environ):
        if name.startswith("OTEL_") or name in ("ANALYTICS_DISABLED", "DJANGO_SETTINGS_MODULE"):
            del os.environ[name]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextmanager
def played(out: Out) -> Iterator[Played]:
    """Set the demo up, play the scenario, flush; yield the outcome; then shut everything down."""
    from opentelemetry.exporter.google_analytics.testing import GACollector

    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="otel-aa-demo-"))
        collector = stack.enter_context(GACollector())
        out.step(f"GA stand-in listening on 127.0.0.1:{collector.port} "
                 "(checks every hit against GA4's limits)")
        stack.enter_context(_demo_environment({
            "DJANGO_SETTINGS_MODULE": "otel_aa.demo.settings",
            "OTEL_AA_DEMO_DIR": tmp,
            "OTEL_SERVICE_NAME": "otel-aa-demo",
            "OTEL_TRACES_EXPORTER": "ga",
            "OTEL_METRICS_EXPORTER": "ga",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_GA_TOKENS": json.dumps(list(scenario.DEMO_TOKENS)),
            "OTEL_EXPORTER_GA_IGNORE_PATHS": scenario.IGNORE_PATHS,
            "OTEL_EXPORTER_GA_ENDPOINT": collector.endpoint,
            "OTEL_EXPORTER_GA_VALIDATE": "false",
            "OTEL_EXPORTER_GA_TIMEOUT": "5",
        }))
        import otel_aa

        try:
            yield _play(out, collector, stack)
        finally:
            # Before the temporary database goes: the exit-time flush would find it gone.
            otel_aa.shutdown()


def _play(out: Out, collector: Any, stack: ExitStack) -> Played:
    import otel_aa

    # The code start, as in an install's wsgi.py / celery.py: before Django loads its middleware.
    otel_aa.configure()
    from opentelemetry import metrics, trace

    capture = _Capture()
    provider: Any = trace.get_tracer_provider()
    provider.add_span_processor(capture)
    out.step(f"otel_aa.configure(): {len(scenario.DEMO_TOKENS)} tokens, traces and daily stats to GA "
             "(code start)")

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_user(password="canary-password-1", **scenario.USER)
    get_user_model().objects.create_user("second.pilot", "second.pilot@example.org", "canary-password-2")
    out.step("demo site migrated (SQLite in a temporary directory), 2 users")

    from celery.contrib.testing.worker import start_worker

    from otel_aa.demo.celery import app as celery_app

    # CRITICAL: the failing task is meant to fail; its traceback would only clutter the report.
    # One thread: with more, a task retried with countdown=0 can start its second run before
    # the first run's task_postrun, and Celery's instrumentation (which keys its context by
    # task id) then loses the first run's context ("Failed to detach context").
    stack.enter_context(start_worker(celery_app, pool="threads", concurrency=1, perform_ping_check=False,
                                     loglevel="CRITICAL", shutdown_timeout=10))
    out.step("Celery worker thread started (threads pool, in-process memory:// broker)")

    session_key = _browse(out)
    _run_tasks(out, capture)
    _send_daily_stats(out)

    out.step("flushing spans and metrics")
    # The exporters post on flush and the stand-in records a hit before it answers: once both
    # flushes returned, everything sent has arrived.
    flushed = provider.force_flush(15_000)
    meter_provider: Any = metrics.get_meter_provider()
    if hasattr(meter_provider, "force_flush"):
        flushed = meter_provider.force_flush(15_000) and flushed
    return Played(collector, list(capture.spans), session_key, bool(flushed))


def _browse(out: Out) -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(**scenario.CANARY_HEADERS)
    client.force_login(get_user_model().objects.get(username=scenario.USER["username"]))
    client.cookies[scenario.CANARY_COOKIE[0]] = scenario.CANARY_COOKIE[1]
    counting = sum(1 for r in scenario.REQUESTS if r.counts)
    out.step(f"{len(scenario.REQUESTS)} requests through Django: {counting} page views, "
             f"{len(scenario.REQUESTS) - counting} that must not count")
    for request in scenario.REQUESTS:
        response = client.generic(request.method, request.path)
        kind = response.get("Content-Type", "").split(";")[0]
        verdict = "page view" if request.counts else "not a page view"
        out.detail(f"{request.method:4} {request.path:50} {response.status_code} {kind:10} -> {verdict} "
                   f"({request.why})")
    return str(client.session.session_key)


def _run_tasks(out: Out, capture: _Capture) -> None:
    from opentelemetry.trace import SpanKind

    from otel_aa.demo.fleet import tasks

    out.step("3 Celery tasks: one succeeds with 12, one fails, one retries once then succeeds")
    runs = [
        tasks.count_fleet_members.delay("canary-fleet-key"),
        tasks.sync_corporation_roster.delay("Canary Pilot"),
        tasks.refresh_fleet_motd.delay("canary-fleet-key"),
    ]
    for async_result in runs:
        async_result.get(timeout=15, propagate=False)
        out.detail(f"{async_result.state:8} {async_result.id}")
    # A task's result is stored before its span ends: wait for the spans (the retried task: two).
    def task_spans(spans: list[Any]) -> int:
        return sum(1 for s in spans if s.kind == SpanKind.CONSUMER)

    capture.wait_for(lambda spans: task_spans(spans) >= scenario.TASK_SPANS, timeout=15)


def _send_daily_stats(out: Out) -> None:
    from django.core.management import call_command, get_commands

    if "otel_aa_stats" not in get_commands():
        out.step("daily stats: collected by the GA metric reader at flush")
        return
    out.step("daily stats: manage.py otel_aa_stats --send")
    printed = io.StringIO()
    call_command("otel_aa_stats", "--send", stdout=printed, stderr=printed)
    for line in printed.getvalue().splitlines():
        if not line.startswith((" ", "{", "}", "POST ")):
            out.detail(line)
