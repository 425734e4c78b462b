"""``otel-aa demo``: run the embedded site, send to a loopback GA, and report what arrived.

Everything happens in this process: a :class:`~opentelemetry.exporter.google_analytics.testing.
GACollector` on 127.0.0.1 plays Google Analytics (it checks every hit against GA4's published
limits), ``otel_aa.configure()`` sets OpenTelemetry up the code way, Django runs on SQLite in a
temporary directory, and a Celery worker runs on a thread with the in-process ``memory://``
broker. Requests carry canary values (an IP, a User-Agent, cookies, a query string, a host name,
path values, a user's name and e-mail; task arguments and an exception message) in every place
private data can hide; the report shows that none reached GA.

The exit code is 0 when every hit is valid and each token got what its flags say, else 1.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

__all__ = ["DEMO_TOKENS", "IGNORE_PATHS", "run"]

#: The demo's GA destinations: one for page views only, one for everything, one that ignores
#: the fleet app's pages. Made-up ids and secrets: they only ever reach 127.0.0.1.
DEMO_TOKENS: tuple[dict[str, Any], ...] = (
    {
        "name": "pages-only",
        "measurement_id": "G-DEMOPAGES1",
        "api_secret": "demo-secret-pages-7Hq2xR",
        "page_views": True,
        "celery_events": False,
        "daily_stats": False,
    },
    {
        "name": "everything",
        "measurement_id": "G-DEMOALL002",
        "api_secret": "demo-secret-all-Vb81Lk",
        "page_views": True,
        "celery_events": True,
        "daily_stats": True,
    },
    {
        "name": "no-fleet-pages",
        "measurement_id": "G-DEMONOFLT3",
        "api_secret": "demo-secret-nofleet-Q3zw",
        "page_views": True,
        "celery_events": False,
        "daily_stats": True,
        "ignore_paths": ["^/fleet/"],
    },
)

#: Ignored for every token (``OTEL_EXPORTER_GA_IGNORE_PATHS``): a health check is not a visit.
IGNORE_PATHS = "^/healthz/"

_USER = {"username": "canary.pilot", "email": "canary.pilot@example.org"}
_CANARY_HEADERS = {
    "HTTP_HOST": "auth.canary-corp.example",
    "HTTP_USER_AGENT": "CanaryBrowser/9.9 (canary-ua)",
    "HTTP_X_FORWARDED_FOR": "203.0.113.77",
    "REMOTE_ADDR": "198.51.100.23",
    "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.8",
    "HTTP_REFERER": "https://auth.canary-corp.example/private/canary-referer",
}
_CANARY_COOKIE = ("canary_pref", "canary-cookie-value")


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    counts: bool
    why: str
    route: str = ""  # the route template a page view carries, for the tokens' ignore_paths


_REQUESTS: tuple[_Request, ...] = (
    _Request("GET", "/", True, "HTML page (root route)", "/"),
    _Request(
        "GET",
        "/character/90000001/?page=canary-query-value",
        True,
        "HTML page, path value and query string",
        "/character/<int:character_id>/",
    ),
    _Request("GET", "/corporation/CNRY/", True, "HTML page via re_path", "/corporation/"),
    _Request("GET", "/fleet/", True, "HTML page of an include()d app", "/fleet/"),
    _Request(
        "GET", "/fleet/canary-fleet-key/", True, "HTML page, slug in the path", "/fleet/<slug:fleet_key>/"
    ),
    _Request("GET", "/api/status/", False, "JSON, not a page"),
    _Request("GET", "/go/home/", False, "redirect (302)"),
    _Request("GET", "/character/99999999/", False, "404 from the view"),
    _Request("GET", "/no/such/page/", False, "404, no route"),
    _Request("POST", "/", False, "POST, a form submit"),
    _Request("GET", "/healthz/", False, "ignored path, every token"),
)

_TASK_EVENTS = 3  # one success, one failure, one retried-then-successful run (the retry isn't sent)


# --- output ------------------------------------------------------------------------------------


class _Out:
    def __init__(self, stream: IO[str], verbose: bool) -> None:
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


# --- span capture: what the spans held before the allowlist -------------------------------------


class _Capture:
    """A span processor recording every finished span, with a condition to wait on."""

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


# --- environment --------------------------------------------------------------------------------


@contextmanager
def _demo_environment(values: dict[str, str]) -> Iterator[None]:
    """Run with only the demo's own settings: no OTEL_* or GA setting of the caller's shell leaks in."""
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


# --- the run ------------------------------------------------------------------------------------


@dataclass
class _Result:
    problems: list[str] = field(default_factory=list)


def run(stream: IO[str], verbose: bool = False) -> int:
    """Run the demo, print progress and the report to ``stream``; return the exit code."""
    from opentelemetry.exporter.google_analytics.testing import GACollector

    out = _Out(stream, verbose)
    out.line("otel-aa demo: an embedded Alliance Auth-like site, instrumented by otel_aa, sending to a")
    out.line("Google Analytics stand-in on 127.0.0.1. No network, no services.")
    out.line()
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="otel-aa-demo-"))
        collector = stack.enter_context(GACollector())
        out.step(
            f"GA stand-in listening on 127.0.0.1:{collector.port} (checks every hit against GA4's limits)"
        )
        stack.enter_context(
            _demo_environment(
                {
                    "DJANGO_SETTINGS_MODULE": "otel_aa.demo.settings",
                    "OTEL_AA_DEMO_DIR": tmp,
                    "OTEL_SERVICE_NAME": "otel-aa-demo",
                    "OTEL_TRACES_EXPORTER": "ga",
                    "OTEL_METRICS_EXPORTER": "ga",
                    "OTEL_LOGS_EXPORTER": "none",
                    "OTEL_EXPORTER_GA_TOKENS": json.dumps(list(DEMO_TOKENS)),
                    "OTEL_EXPORTER_GA_IGNORE_PATHS": IGNORE_PATHS,
                    "OTEL_EXPORTER_GA_ENDPOINT": collector.endpoint,
                    "OTEL_EXPORTER_GA_VALIDATE": "false",
                    "OTEL_EXPORTER_GA_TIMEOUT": "5",
                }
            )
        )
        return _run(out, collector, stack)
    return 1  # not reached: ExitStack doesn't swallow exceptions


def _run(out: _Out, collector: Any, stack: ExitStack) -> int:
    import otel_aa

    # The code start, as in an install's wsgi.py / celery.py: before Django loads its middleware.
    otel_aa.configure()

    from opentelemetry import metrics, trace

    capture = _Capture()
    provider: Any = trace.get_tracer_provider()
    provider.add_span_processor(capture)
    out.step(f"otel_aa.configure(): {len(DEMO_TOKENS)} tokens, traces and daily stats to GA (code start)")

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(password="canary-password-1", **_USER)
    get_user_model().objects.create_user("second.pilot", "second.pilot@example.org", "canary-password-2")
    out.step("demo site migrated (SQLite in a temporary directory), 2 users")

    from celery.contrib.testing.worker import start_worker

    from otel_aa.demo.celery import app as celery_app

    stack.enter_context(
        # CRITICAL: the failing task is meant to fail; its traceback would only clutter the report.
        # One thread: with more, a task retried with countdown=0 can start its second run before
        # the first run's task_postrun, and Celery's instrumentation (which keys its context by
        # task id) then loses the first run's context ("Failed to detach context").
        start_worker(
            celery_app,
            pool="threads",
            concurrency=1,
            perform_ping_check=False,
            loglevel="CRITICAL",
            shutdown_timeout=10,
        )
    )
    out.step("Celery worker thread started (threads pool, in-process memory:// broker)")

    session_key = _browse(out)
    secrets = {t["api_secret"] for t in DEMO_TOKENS}
    canaries = _canaries(session_key, secrets)
    if user.email not in canaries.values():
        canaries["user e-mail"] = user.email

    _run_tasks(out, capture)
    _send_daily_stats(out)

    out.step("flushing spans and metrics")
    trace_ok = provider.force_flush(15_000)
    meter_provider: Any = metrics.get_meter_provider()
    metrics_ok = meter_provider.force_flush(15_000) if hasattr(meter_provider, "force_flush") else True
    expected = _expected()
    collector.wait_for(lambda c: _arrived(c) >= expected, timeout=10)
    result = _report(out, collector, capture, canaries, trace_ok and metrics_ok)
    # Before the temporary database goes: the exit-time flush would find it gone.
    otel_aa.shutdown()
    return 1 if result.problems else 0


def _browse(out: _Out) -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client(**_CANARY_HEADERS)
    client.force_login(get_user_model().objects.get(username=_USER["username"]))
    client.cookies[_CANARY_COOKIE[0]] = _CANARY_COOKIE[1]
    counting = sum(1 for r in _REQUESTS if r.counts)
    out.step(
        f"{len(_REQUESTS)} requests through Django: {counting} page views, "
        f"{len(_REQUESTS) - counting} that must not count"
    )
    for request in _REQUESTS:
        response = client.generic(request.method, request.path)
        kind = response.get("Content-Type", "").split(";")[0]
        verdict = "page view" if request.counts else "not a page view"
        out.detail(
            f"{request.method:4} {request.path:50} {response.status_code} {kind:10} -> {verdict} "
            f"({request.why})"
        )
    return str(client.session.session_key)


def _run_tasks(out: _Out, capture: _Capture) -> None:
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
    # A task's result is stored before its span ends: wait for the spans (two runs of the retried task).
    from opentelemetry.trace import SpanKind

    def consumer_spans(spans: list[Any]) -> int:
        return sum(1 for s in spans if s.kind == SpanKind.CONSUMER)

    capture.wait_for(lambda spans: consumer_spans(spans) >= _TASK_EVENTS + 1, timeout=15)


def _send_daily_stats(out: _Out) -> None:
    from django.core.management import call_command, get_commands

    if "otel_aa_stats" in get_commands():
        out.step("daily stats: manage.py otel_aa_stats --send")
        printed = io.StringIO()
        call_command("otel_aa_stats", "--send", stdout=printed, stderr=printed)
        for line in printed.getvalue().splitlines():
            if not line.startswith((" ", "{", "}", "POST ")):
                out.detail(line)
    else:
        out.step("daily stats: collected by the GA metric reader at flush")


# --- expectations and report --------------------------------------------------------------------


def _token_ignores(token: dict[str, Any], route: str) -> bool:
    patterns = [*token.get("ignore_paths", []), IGNORE_PATHS]
    return any(re.search(p, route) for p in patterns)


def _expected_page_views(token: dict[str, Any]) -> int:
    if not token["page_views"]:
        return 0
    return sum(1 for r in _REQUESTS if r.counts and not _token_ignores(token, r.route))


def _expected() -> int:
    """Hits are batched; the least that must arrive is one event of each expected kind per token."""
    return sum(
        _expected_page_views(t) + (_TASK_EVENTS if t["celery_events"] else 0) + (1 if t["daily_stats"] else 0)
        for t in DEMO_TOKENS
    )


def _arrived(collector: Any) -> int:
    return len(collector.events())


def _canaries(session_key: str, secrets: set[str]) -> dict[str, str]:
    canaries = {
        "user name": _USER["username"],
        "user e-mail": _USER["email"],
        "client IP (X-Forwarded-For)": _CANARY_HEADERS["HTTP_X_FORWARDED_FOR"],
        "client IP (REMOTE_ADDR)": _CANARY_HEADERS["REMOTE_ADDR"],
        "host name": _CANARY_HEADERS["HTTP_HOST"],
        "User-Agent": "CanaryBrowser",
        "referer": "canary-referer",
        "cookie": _CANARY_COOKIE[1],
        "session id": session_key,
        "query string": "canary-query-value",
        "path value (id)": "90000001",
        "path value (slug)": "canary-fleet-key",
        "path value (ticker)": "CNRY",
        "task argument": "Canary Pilot",
        "exception message": "ESI refused",
    }
    for index, secret in enumerate(sorted(secrets)):
        canaries[f"API secret #{index + 1}"] = secret
    return canaries


def _format_params(params: dict[str, Any]) -> str:
    shown = {k: v for k, v in params.items() if k not in ("engagement_time_msec", "session_id")}
    return "  ".join(f"{k}={v}" for k, v in shown.items())


def _report(out: _Out, collector: Any, capture: _Capture, canaries: dict[str, str], flushed: bool) -> _Result:
    from opentelemetry.exporter.google_analytics.testing import validate_payload
    from opentelemetry.exporter.google_analytics.tokens import mask_secret

    result = _Result()
    if not flushed:
        result.problems.append("a flush timed out")
    out.line()
    out.line("=" * 100)
    out.line("Report: what reached the GA stand-in")
    out.line("=" * 100)
    for token in DEMO_TOKENS:
        _report_token(out, collector, token, result, validate_payload, mask_secret)
    strays = [
        h
        for h in collector.requests
        if h.query.get("measurement_id") not in {t["measurement_id"] for t in DEMO_TOKENS}
    ]
    if strays:
        result.problems.append(f"{len(strays)} request(s) for no configured token")
    refused = [h for h in collector.requests if h.status != 204]
    if refused:
        result.problems.append(f"{len(refused)} request(s) not accepted by the GA stand-in")

    _report_allowlist(out, capture)
    _report_canaries(out, collector, canaries, result)

    hits = collector.hits
    invalid = [h for h in hits if validate_payload(h.body)]
    out.line()
    if not hits:
        result.problems.append("no hit arrived")
    if invalid:
        result.problems.append(f"{len(invalid)} invalid hit(s)")
    events = sum(len(h.events) for h in hits)
    if result.problems:
        out.line(f"RESULT: FAILED: {'; '.join(result.problems)} ({len(hits)} hits, {events} events)")
    else:
        out.line(
            f"RESULT: OK: {len(hits)} hits, {events} events, all hits valid, every token got what its "
            "flags say, no private value reached GA."
        )
    return result


def _report_token(
    out: _Out,
    collector: Any,
    token: dict[str, Any],
    result: _Result,
    validate_payload: Callable[[Any], list[Any]],
    mask_secret: Callable[[str], str],
) -> None:
    flags = ", ".join(
        f"{flag} {'on' if token[flag] else 'off'}" for flag in ("page_views", "celery_events", "daily_stats")
    )
    ignores = ", ".join([*token.get("ignore_paths", []), IGNORE_PATHS])
    out.line()
    out.line(f"token {token['name']!r}: {token['measurement_id']}, secret {mask_secret(token['api_secret'])}")
    out.line(f"  flags: {flags}; ignore_paths: {ignores}")
    hits = [h for h in collector.hits if h.query.get("measurement_id") == token["measurement_id"]]
    for number, hit in enumerate(hits, 1):
        messages = validate_payload(hit.body)
        verdict = "valid" if not messages else f"INVALID ({len(messages)} messages)"
        out.line(
            f"  hit {number}: {len(hit.events)} events, {len(hit.raw)} bytes, client_id "
            f"{hit.body.get('client_id', '?')}: {verdict}"
        )
        for message in messages:
            out.line(f"    ! {message['fieldPath']}: {message['description']} ({message['validationCode']})")
        for event in hit.events:
            out.line(f"    {event.get('name', '?'):12} {_format_params(event.get('params', {}))}")
    out.line(_check_token(token, hits, result))


def _stream_of(event: dict[str, Any]) -> str:
    params = event.get("params", {})
    if event.get("name") == "page_view":
        return "page_views"
    if params.get("namespace") == "allianceauth.analytics":
        return "daily_stats"
    return "celery_events"


def _check_token(token: dict[str, Any], hits: Sequence[Any], result: _Result) -> str:
    got = Counter(_stream_of(e) for h in hits for e in h.events)
    want = {
        "page_views": _expected_page_views(token),
        "celery_events": _TASK_EVENTS if token["celery_events"] else 0,
    }
    name = token["name"]
    for stream, count in want.items():
        if got[stream] != count:
            result.problems.append(f"token {name!r}: {got[stream]} {stream} events, expected {count}")
    if token["daily_stats"] and not got["daily_stats"]:
        result.problems.append(f"token {name!r}: no daily stats")
    if not token["daily_stats"] and got["daily_stats"]:
        result.problems.append(f"token {name!r}: daily stats despite daily_stats off")
    summary = ", ".join(f"{got[s]} {s}" for s in ("page_views", "celery_events", "daily_stats"))
    expected = (
        f"{want['page_views']} page_views, {want['celery_events']} celery_events, "
        f"{'some' if token['daily_stats'] else 'no'} daily_stats"
    )
    mine = [p for p in result.problems if p.startswith(f"token {name!r}")]
    verdict = "NOT as expected" if mine else "as expected"
    return f"  => {len(hits)} hit(s): {summary} ({verdict}: {expected})"


def _report_allowlist(out: _Out, capture: _Capture) -> None:
    from otel_aa import privacy

    dropped: dict[str, Counter[str]] = defaultdict(Counter)
    kept: dict[str, set[str]] = defaultdict(set)
    spans_of: Counter[str] = Counter()
    dropped_events: Counter[str] = Counter()
    resource_dropped: set[str] = set()
    for span in capture.spans:
        attributes = dict(span.attributes or {})
        if not privacy.is_analytics_span(span.kind, attributes):
            continue
        kind = span.kind.name
        spans_of[kind] += 1
        allowed = privacy.filter_attributes(attributes)
        kept[kind].update(allowed)
        dropped[kind].update(name for name in attributes if name not in allowed)
        dropped_events.update(event.name for event in span.events)
        resource_dropped.update(
            k for k in span.resource.attributes if k not in privacy.ALLOWED_RESOURCE_ATTRIBUTES
        )
    out.line()
    out.line("Privacy allowlist (otel_aa.privacy): what the spans held that GA never saw")
    for kind in sorted(spans_of):
        out.line(f"  {kind} spans ({spans_of[kind]}):")
        out.line(f"    dropped: {', '.join(sorted(dropped[kind])) or 'nothing'}")
        out.line(f"    kept:    {', '.join(sorted(kept[kind])) or 'nothing'}")
    if dropped_events:
        out.line(
            f"  span events dropped: {', '.join(f'{n} x{c}' for n, c in sorted(dropped_events.items()))}"
        )
    out.line(f"  resource attributes dropped: {', '.join(sorted(resource_dropped)) or 'nothing'}")


def _report_canaries(out: _Out, collector: Any, canaries: dict[str, str], result: _Result) -> None:
    bodies = [h.raw.decode("utf-8", errors="replace").lower() for h in collector.requests]
    found = [where for where, value in canaries.items() if value and any(value.lower() in b for b in bodies)]
    out.line()
    out.line(
        f"Privacy canaries: {len(canaries)} private values planted in requests and tasks, "
        f"searched in {len(bodies)} GA request bodies: "
        + ("none found." if not found else f"FOUND: {', '.join(found)}")
    )
    if found:
        result.problems.append(f"private values reached GA: {', '.join(found)}")
