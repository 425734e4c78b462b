"""Delivery to a real HTTP server on 127.0.0.1 playing GA: batching, retries, shutdown, secrets."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import warnings
from collections.abc import Iterator
from email.utils import formatdate
from typing import Any

import pytest
from ga_test_support import MEASUREMENT_ID, OTHER_ID, OTHER_SECRET, SECRET, AppMapping, SpanFactory, token
from opentelemetry.exporter.google_analytics import (
    GoogleAnalyticsMetricExporter,
    GoogleAnalyticsMetricReader,
    GoogleAnalyticsSpanExporter,
    reload_settings,
)
from opentelemetry.exporter.google_analytics._retry import parse_retry_after
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind
from opentelemetry.util._importlib_metadata import entry_points


@pytest.fixture
def exporter(ga: GACollector, fast_retries: None) -> Iterator[GoogleAnalyticsSpanExporter]:
    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, timeout=2.0,
                                      client_id="install-1234")
    yield exp
    exp.shutdown()


def _pages(spans: SpanFactory, n: int) -> list[Any]:
    return [spans.page() for _ in range(n)]


def test_page_view_reaches_ga_through_a_real_tracer_provider(ga: GACollector,
                                                             exporter: GoogleAnalyticsSpanExporter) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("GET character/<int:character_id>/", kind=SpanKind.SERVER,
                                      attributes={"http.method": "GET", "http.status_code": 200,
                                                  "http.route": "character/<int:character_id>/",
                                                  "ga.page.content_type": "text/html",
                                                  "http.target": "/character/9123/?q=CANARY"}):
        pass
    provider.force_flush()
    (hit,) = ga.hits
    assert hit.query == {"measurement_id": MEASUREMENT_ID, "api_secret": SECRET}
    assert hit.headers["Content-Type"] == "application/json"
    assert hit.body["client_id"] == "install-1234"
    assert hit.body["non_personalized_ads"] is True
    assert hit.body["consent"] == {"ad_user_data": "DENIED", "ad_personalization": "DENIED"}
    (event,) = hit.events
    assert event["name"] == "page_view"
    assert event["params"]["page_location"] == "https://site.invalid/character/<int:character_id>/"
    assert isinstance(event["timestamp_micros"], int)
    assert b"CANARY" not in hit.raw and b"9123" not in hit.raw
    assert ga.invalid == []
    provider.shutdown()


def test_60_events_make_3_requests_per_token(ga: GACollector, fast_retries: None, spans: SpanFactory) -> None:
    exp = GoogleAnalyticsSpanExporter(tokens=[token(), token(OTHER_ID, OTHER_SECRET)], endpoint=ga.endpoint)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exp, max_export_batch_size=512,
                                                   schedule_delay_millis=60_000))
    tracer = provider.get_tracer("test")
    for _ in range(60):
        with tracer.start_as_current_span("GET /", kind=SpanKind.SERVER, attributes={
            "http.request.method": "GET", "http.response.status_code": 200, "http.route": "",
            "ga.page.content_type": "text/html"}):
            pass
    assert provider.force_flush()
    assert len(ga.hits) == 6
    for mid in (MEASUREMENT_ID, OTHER_ID):
        sizes = [len(h.events) for h in ga.hits if h.query["measurement_id"] == mid]
        assert sizes == [25, 25, 10]
    assert ga.invalid == []
    provider.shutdown()


def test_the_export_steps_aside_between_stretches_of_spans_and_before_every_request(
        ga: GACollector, fast_retries: None, spans: SpanFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # A request thread waiting for the GIL gets it between any two stretches of an export: a
    # real, non-zero sleep (a zero one may take the GIL straight back) between each 25 spans
    # mapped and before each request.
    from opentelemetry.exporter.google_analytics import _pipeline

    seen: list[tuple[int, float]] = []  # (requests GA had, seconds slept) at each step aside
    real_sleep, exporting = _pipeline.time.sleep, threading.get_ident()

    def sleep(seconds: float) -> None:
        if threading.get_ident() == exporting:  # the collector's threads aren't counted
            seen.append((len(ga.hits), seconds))
        real_sleep(seconds)

    monkeypatch.setattr(_pipeline.time, "sleep", sleep)
    exp = GoogleAnalyticsSpanExporter(tokens=[token(), token(OTHER_ID, OTHER_SECRET)], endpoint=ga.endpoint)
    assert exp.export(_pages(spans, 60)) is SpanExportResult.SUCCESS
    assert len(ga.hits) == 6
    # after spans 25 and 50, then before each of the six requests
    assert [hits for hits, _ in seen] == [0, 0, 0, 1, 2, 3, 4, 5]
    assert all(seconds > 0 for _, seconds in seen)
    exp.shutdown()


def test_streams_and_ignore_paths_per_token(ga: GACollector, fast_retries: None, spans: SpanFactory) -> None:
    exp = GoogleAnalyticsSpanExporter(tokens=[
        token(page_views=False),
        token(OTHER_ID, OTHER_SECRET, celery_events=False, ignore_paths=["^/admin/"]),
    ], endpoint=ga.endpoint, mapping=AppMapping())  # spans.task(): the test app's run events
    batch = [spans.page(), spans.page(**{"http.route": "admin/<path:object_id>/"}), spans.task()]
    assert exp.export(batch) is SpanExportResult.SUCCESS
    first = [(e["name"], e["params"].get("page_location")) for e in ga.events(measurement_id=MEASUREMENT_ID)]
    second = [(e["name"], e["params"].get("page_location")) for e in ga.events(measurement_id=OTHER_ID)]
    assert first == [("celery_event", None)]
    assert second == [("page_view", "https://site.invalid/character/<int:character_id>/")]
    exp.shutdown()


@pytest.mark.parametrize(("status", "retry_after"), [
    (500, None), (503, None), (429, "0"), (429, formatdate(0, usegmt=True)),
])
def test_retryable_answers_are_retried_and_delivered(ga: GACollector, exporter: GoogleAnalyticsSpanExporter,
                                                     spans: SpanFactory, status: int,
                                                     retry_after: str | None) -> None:
    ga.fail_next(2, status=status, retry_after=retry_after)
    assert exporter.export(_pages(spans, 3)) is SpanExportResult.SUCCESS
    assert [r.status for r in ga.requests] == [status, status, 204]
    assert len(ga.events("page_view")) == 3


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(formatdate(1000.0, usegmt=True), now=990.0) == 10.0
    assert parse_retry_after(formatdate(0, usegmt=True)) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_slow_answer_past_the_timeout_is_retried(ga: GACollector, fast_retries: None,
                                                 spans: SpanFactory) -> None:
    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, timeout=0.3)
    ga.delay_next(1, seconds=30)
    assert exp.export(_pages(spans, 1)) is SpanExportResult.SUCCESS
    assert [r.status for r in ga.requests] == [None, 204]
    exp.shutdown()


def test_reset_connection_is_retried(ga: GACollector, exporter: GoogleAnalyticsSpanExporter,
                                     spans: SpanFactory) -> None:
    ga.reset_next(2)
    assert exporter.export(_pages(spans, 1)) is SpanExportResult.SUCCESS
    assert [r.status for r in ga.requests] == [None, None, 204]


def test_400_is_not_retried(ga: GACollector, exporter: GoogleAnalyticsSpanExporter, spans: SpanFactory,
                            caplog: pytest.LogCaptureFixture) -> None:
    ga.fail_next(5, status=400)
    caplog.set_level(logging.WARNING)
    assert exporter.export(_pages(spans, 1)) is SpanExportResult.FAILURE
    assert exporter.export(_pages(spans, 1)) is SpanExportResult.FAILURE
    assert [r.status for r in ga.requests] == [400, 400]
    failures = [r for r in caplog.records if "HTTP 400" in r.getMessage()]
    assert len(failures) == 1  # logged once per window


def test_refused_connection_fails_without_raising(fast_retries: None, spans: SpanFactory,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from opentelemetry.exporter.google_analytics._transport import _Transport

    monkeypatch.setattr(_Transport, "MAX_RETRY_SECONDS", 0.3)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=f"http://127.0.0.1:{port}/mp/collect")
    assert exp.export(_pages(spans, 2)) is SpanExportResult.FAILURE
    assert exp._pipeline is not None and exp._pipeline.transport.attempts >= 2  # it did retry
    exp.shutdown()


def test_shutdown_during_backoff_returns_promptly(ga: GACollector, spans: SpanFactory) -> None:
    # Real backoff settings; GA asks for a 60-second pause.
    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint)
    ga.fail_next(100, status=503, retry_after=60)
    results: list[SpanExportResult] = []
    worker = threading.Thread(target=lambda: results.append(exp.export(_pages(spans, 1))))
    worker.start()
    assert ga.wait_for(lambda c: len(c.requests) == 1, timeout=10)
    exp.shutdown()
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert results == [SpanExportResult.FAILURE]
    assert len(ga.requests) == 1  # no attempt after shutdown
    assert exp.export(_pages(spans, 1)) is SpanExportResult.FAILURE


def test_validation_mode_posts_to_debug_endpoint_and_logs_messages(
    ga: GACollector, fast_retries: None, spans: SpanFactory, caplog: pytest.LogCaptureFixture
) -> None:
    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, validate=True,
                                      user_properties={"user_id": "forbidden", "aa_version": "4.6.0"})
    # Smuggle an invalid hit past our own limits to see the validation server's answer logged.
    exp._pipeline.user_properties()  # type: ignore[union-attr]
    exp._pipeline._user_properties = {"user_id": {"value": "x"}}  # type: ignore[union-attr]
    caplog.set_level(logging.WARNING)
    assert exp.export(_pages(spans, 1)) is SpanExportResult.SUCCESS
    (hit,) = ga.debug_hits
    assert hit.path == "/debug/mp/collect"
    assert ga.hits == []
    (message,) = [r for r in caplog.records if "validation" in r.getMessage()]
    assert "user_properties.user_id" in message.getMessage()
    assert "NAME_RESERVED" in message.getMessage()
    ga.garbage_next(1)
    assert exp.export(_pages(spans, 1)) is SpanExportResult.SUCCESS
    assert "unreadable answer" in caplog.text
    exp.shutdown()


def test_user_properties_are_sanitized(ga: GACollector, fast_retries: None, spans: SpanFactory) -> None:
    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint,
                                      user_properties=lambda: {"aa_version": "4.6.0", "user_id": "no",
                                                               "long": "x" * 50})
    assert exp.export(_pages(spans, 1)) is SpanExportResult.SUCCESS
    (hit,) = ga.hits
    assert hit.body["user_properties"] == {"aa_version": {"value": "4.6.0"}, "long": {"value": "x" * 36}}
    exp.shutdown()


def test_analytics_disabled_sends_nothing(ga: GACollector, exporter: GoogleAnalyticsSpanExporter,
                                          spans: SpanFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_GA_DISABLED", "true")
    reload_settings()  # settings are resolved once; a change is seen at the reload
    assert exporter.export(_pages(spans, 2)) is SpanExportResult.SUCCESS
    assert ga.requests == []


def test_secret_never_in_logs_reprs_or_exceptions(
    ga: GACollector, spans: SpanFactory, fast_retries: None, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from opentelemetry.exporter.google_analytics._transport import _Transport

    monkeypatch.setattr(_Transport, "MAX_RETRY_SECONDS", 0.5)
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ["urllib3", *logging.root.manager.loggerDict]]
    levels = [(logger, logger.level) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
    try:
        _provoke_every_failure(ga, spans, caplog)
    finally:
        for logger, level in levels:
            logger.setLevel(level)


def _provoke_every_failure(ga: GACollector, spans: SpanFactory, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    exporters = [
        GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, timeout=0.3),
        GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, timeout=0.3, validate=True),
        GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=f"http://127.0.0.1:{closed_port}/mp/collect"),
        GoogleAnalyticsSpanExporter(tokens=[token()], endpoint="http://[::1/mp/collect"),  # invalid URL
    ]
    ga.fail_next(3, status=500)
    ga.fail_next(1, status=429, retry_after=0)
    ga.reset_next(2)
    ga.delay_next(1, seconds=30)
    ga.fail_next(1, status=400)
    ga.fail_next(1, status=403)
    for exp in exporters:
        for _ in range(4):
            exp.export(_pages(spans, 1))
    ga.garbage_next(2)
    exporters[1].export(_pages(spans, 1))
    bad_short = GoogleAnalyticsSpanExporter(measurement_id="UA-1-1", api_secret=SECRET)
    bad_list = GoogleAnalyticsMetricExporter(tokens=json.dumps([{"measurement_id": "nope",
                                                                 "api_secret": SECRET}]) + "]")
    assert len(caplog.records) > 10
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    # urllib3 did log request URLs; the filter masked the secret in them.
    assert any("api_secret=***" in r.getMessage() for r in caplog.records)
    formatter = logging.Formatter()
    for record in caplog.records:
        assert SECRET not in formatter.format(record), record.name
    objects: list[object] = [*exporters, bad_short, bad_list, *exporters[0].tokens]
    for obj in objects:
        assert SECRET not in repr(obj)
        assert SECRET not in str(obj)
    for exp in exporters:
        exp.shutdown()
    bad_short.shutdown()
    bad_list.shutdown()


def test_entry_points_load_and_build_from_env(ga: GACollector, monkeypatch: pytest.MonkeyPatch,
                                              spans: SpanFactory) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_GA_MEASUREMENT_ID", MEASUREMENT_ID)
    monkeypatch.setenv("OTEL_EXPORTER_GA_API_SECRET", SECRET)
    monkeypatch.setenv("OTEL_EXPORTER_GA_ENDPOINT", ga.endpoint)
    (traces,) = entry_points(group="opentelemetry_traces_exporter", name="ga")
    (metrics,) = entry_points(group="opentelemetry_metrics_exporter", name="ga")
    assert traces.load() is GoogleAnalyticsSpanExporter
    # The metrics entry point is the reader (a MetricReader: the SDK builds it with the exporter's
    # arguments and gives it to its MeterProvider, which flushes and shuts it down).
    assert metrics.load() is GoogleAnalyticsMetricReader
    span_exporter = traces.load()()
    metric_reader = metrics.load()()
    metric_exporter = metric_reader._ga_exporter
    assert isinstance(metric_exporter, GoogleAnalyticsMetricExporter)
    assert [t.measurement_id for t in span_exporter.tokens] == [MEASUREMENT_ID]
    assert [t.measurement_id for t in metric_exporter.tokens] == [MEASUREMENT_ID]
    assert span_exporter.export(_pages(spans, 1)) is SpanExportResult.SUCCESS
    assert len(ga.hits) == 1
    span_exporter.shutdown()
    metric_reader.shutdown()
    assert metric_exporter._shutdown


def test_no_tokens_builds_and_exports_nothing(spans: SpanFactory) -> None:
    exp = GoogleAnalyticsSpanExporter()
    assert exp.tokens == []
    assert exp.export(_pages(spans, 1)) is SpanExportResult.SUCCESS
    assert exp.force_flush()
    exp.shutdown()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_gets_its_own_session_and_delivers(
    ga: GACollector, exporter: GoogleAnalyticsSpanExporter, spans: SpanFactory
) -> None:
    assert exporter.export(_pages(spans, 1)) is SpanExportResult.SUCCESS  # parent's pool has a connection
    assert exporter._pipeline is not None
    parent_session = exporter._pipeline.transport._session
    batch = _pages(spans, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads running (3.12+)
        pid = os.fork()
    if pid == 0:  # the child: report through the exit code only
        code = 1
        try:
            fresh = exporter._pipeline.transport._session is not parent_session
            ok = exporter.export(batch) is SpanExportResult.SUCCESS
            code = 0 if fresh and ok else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert len(ga.events("page_view")) == 3
    assert exporter._pipeline.transport._session is parent_session


def test_secret_filter_scrubs_urllib3_messages_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    import requests

    caplog.set_level(logging.DEBUG)
    logger = logging.getLogger("urllib3.connectionpool")
    url = f"/mp/collect?measurement_id={MEASUREMENT_ID}&api_secret={SECRET}"
    logger.debug('%s "POST %s HTTP/1.1" %s', "http://127.0.0.1:1", url, 204)
    try:
        raise requests.ConnectionError(f"Max retries exceeded with url: {url}")
    except requests.ConnectionError:
        logger.debug("failed", exc_info=True)
    assert len(caplog.records) == 2
    formatter = logging.Formatter()
    for record in caplog.records:
        text = formatter.format(record)
        assert SECRET not in text
        assert "api_secret=***" in text
