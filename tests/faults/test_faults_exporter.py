"""GA misbehaving, at the exporter: every failure mode Google (or the network) can produce.

Real parts: spans from a real SDK tracer, the real exporter and its HTTP transport, and a real
HTTP server on 127.0.0.1 (``GACollector``) that fails on demand. Only the retry budget and the
backoff are shortened (on the exporter instance) so the tests run in seconds; waiting is always
on a thread join or the collector's condition, with a timeout, never a sleep.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExportResult
from opentelemetry.trace import SpanKind

from faults._support import (
    ROUTE,
    SECRETS,
    TOKENS,
    captured_logs,
    closed_endpoint,
    delivered_titles,
    fast_exporter,
    page_view_spans,
    transport,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


def _in_thread(func: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(func()), daemon=True)
    thread.start()
    return thread, out


def _expected_titles(n: int) -> list[str]:
    return sorted(f"Character Sheet {i}" for i in range(n))


def _assert_each_token_got_all_once(ga: GACollector, n: int) -> None:
    for token in TOKENS:
        assert sorted(delivered_titles(ga.hits, token["measurement_id"])) == _expected_titles(n)
    assert ga.invalid == []


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_and_everything_arrives_once(ga: GACollector, status: int) -> None:
    exporter = fast_exporter(ga.endpoint)
    ga.fail_next(2, status=status)
    try:
        assert exporter.export(page_view_spans(4)) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    _assert_each_token_got_all_once(ga, 4)
    failed = [r for r in ga.requests if r.status == status]
    assert len(failed) == 2
    assert len(ga.requests) == len(TOKENS) + 2


def test_429_with_retry_after_seconds_is_honoured(ga: GACollector) -> None:
    # Backoff of 100 s: if the exporter ignored "Retry-After: 0" it would still be waiting when
    # the join below gives up.
    exporter = fast_exporter(ga.endpoint, budget=300, backoff=100)
    ga.fail_next(1, status=429, retry_after=0)
    thread, out = _in_thread(lambda: exporter.export(page_view_spans(3)))
    thread.join(timeout=30)
    try:
        assert not thread.is_alive(), "Retry-After: 0 was not honoured (the exporter is backing off)"
        assert out == [SpanExportResult.SUCCESS]
    finally:
        exporter.shutdown()
        thread.join(timeout=30)
    _assert_each_token_got_all_once(ga, 3)
    assert [r.status for r in ga.requests].count(429) == 1


def test_429_with_retry_after_http_date_is_honoured(ga: GACollector) -> None:
    exporter = fast_exporter(ga.endpoint, budget=300, backoff=100)
    ga.fail_next(1, status=429, retry_after=email.utils.formatdate(time.time() - 60, usegmt=True))
    thread, out = _in_thread(lambda: exporter.export(page_view_spans(2)))
    thread.join(timeout=30)
    try:
        assert not thread.is_alive(), "a Retry-After date in the past was not honoured"
        assert out == [SpanExportResult.SUCCESS]
    finally:
        exporter.shutdown()
        thread.join(timeout=30)
    _assert_each_token_got_all_once(ga, 2)


def test_429_asking_for_longer_than_the_budget_gives_up_within_it(ga: GACollector) -> None:
    exporter = fast_exporter(ga.endpoint, budget=1.0, tokens=TOKENS[:1])
    ga.fail_next(50, status=429, retry_after=3600)
    thread, out = _in_thread(lambda: exporter.export(page_view_spans(2)))
    thread.join(timeout=30)
    try:
        assert not thread.is_alive(), "the exporter slept for the server's hour-long Retry-After"
        assert out == [SpanExportResult.FAILURE]
    finally:
        exporter.shutdown()
        thread.join(timeout=30)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413])
def test_other_4xx_is_not_retried_and_the_other_tokens_still_get_theirs(ga: GACollector, status: int) -> None:
    exporter = fast_exporter(ga.endpoint)
    ga.fail_next(1, status=status)
    try:
        assert exporter.export(page_view_spans(3)) is SpanExportResult.FAILURE
    finally:
        exporter.shutdown()
    assert len(ga.requests) == len(TOKENS)  # no second attempt for the refused body
    got = {t["measurement_id"]: sorted(delivered_titles(ga.hits, t["measurement_id"])) for t in TOKENS}
    assert sum(1 for titles in got.values() if titles == _expected_titles(3)) == len(TOKENS) - 1


def test_slow_past_the_timeout_is_retried_and_arrives_once(ga: GACollector) -> None:
    exporter = fast_exporter(ga.endpoint, timeout=0.5)
    ga.delay_next(2, seconds=60)  # the collector's close() ends the wait
    try:
        assert exporter.export(page_view_spans(3)) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    unanswered = [r for r in ga.requests if r.status is None]
    assert len(unanswered) == 2
    _assert_each_token_got_all_once(ga, 3)


def test_reset_connections_are_retried_and_arrive_once(ga: GACollector) -> None:
    exporter = fast_exporter(ga.endpoint)
    ga.reset_next(3)
    try:
        assert exporter.export(page_view_spans(3)) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    _assert_each_token_got_all_once(ga, 3)


def test_ga_down_for_a_while_then_back_loses_nothing(ga: GACollector) -> None:
    # Down (a mix of everything) for 8 attempts, then answering again: all within one budget.
    exporter = fast_exporter(ga.endpoint, timeout=0.5, budget=30)
    ga.reset_next(2)
    ga.fail_next(2, status=503)
    ga.delay_next(1, seconds=60)
    ga.fail_next(1, status=429, retry_after=0)
    ga.reset_next(2)
    try:
        assert exporter.export(page_view_spans(30)) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    _assert_each_token_got_all_once(ga, 30)


def test_garbage_answer_bodies_are_not_errors(ga: GACollector) -> None:
    exporter = fast_exporter(ga.endpoint)
    ga.garbage_next(len(TOKENS))
    try:
        assert exporter.export(page_view_spans(2)) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    assert [r.status for r in ga.requests] == [200] * len(TOKENS)


def test_garbage_from_the_validation_server_is_logged_once_without_the_secret(ga: GACollector) -> None:
    exporter = fast_exporter(ga.endpoint, validate=True)
    ga.garbage_next(len(TOKENS))
    with captured_logs() as logs:
        try:
            assert exporter.export(page_view_spans(2)) is SpanExportResult.SUCCESS
        finally:
            exporter.shutdown()
    assert all(r.path == "/debug/mp/collect" for r in ga.requests)
    assert "unreadable" in logs.text()
    for secret in SECRETS:
        assert secret not in logs.text()


def test_not_listening_fails_quietly_within_the_budget() -> None:

    exporter = fast_exporter(closed_endpoint(), budget=0.5)
    with captured_logs() as logs:
        try:
            result = exporter.export(page_view_spans(2))
        finally:
            exporter.shutdown()
    assert result is SpanExportResult.FAILURE
    assert transport(exporter).attempts > len(TOKENS)  # retried, not given up on at once
    text = logs.text()
    assert "connection failed" in text
    for secret in SECRETS:
        assert secret not in text
    # One message per token and failure, not one per attempt.
    assert text.count("connection failed") == len(TOKENS)


def test_events_lost_to_an_unreachable_ga_are_counted() -> None:
    """DESIGN invariant 3: what is dropped is counted (the limits' DropCounter, by reason)."""

    exporter = fast_exporter(closed_endpoint(), budget=0.2, tokens=TOKENS[:1])
    try:
        assert exporter.export(page_view_spans(5)) is SpanExportResult.FAILURE
    finally:
        exporter.shutdown()
    drops = exporter._pipeline.drops  # type: ignore[union-attr]
    assert drops.total() == 5, f"undelivered events are not counted: {drops.snapshot()}"


def test_shutdown_stops_retries_in_progress() -> None:

    # The real 30 s budget: only shutdown can end this export early.
    exporter = fast_exporter(closed_endpoint(), budget=30, backoff=0.05)
    thread, out = _in_thread(lambda: exporter.export(page_view_spans(3)))
    t = transport(exporter)
    # Wait (bounded) until the export is retrying, then shut down.
    deadline = time.monotonic() + 10
    while t.attempts < 2 and time.monotonic() < deadline:
        thread.join(timeout=0.01)
    exporter.shutdown()
    thread.join(timeout=10)
    assert not thread.is_alive(), "shutdown did not end the retries"
    assert out == [SpanExportResult.FAILURE]
    attempts = t.attempts
    assert exporter.export(page_view_spans(1)) is SpanExportResult.FAILURE
    assert t.attempts == attempts  # nothing sent after shutdown


def test_flush_with_ga_down_is_bounded() -> None:
    """A flush (gunicorn/Celery child exit) with GA down must end within the time asked for.

    The SDK's ``BatchSpanProcessor.force_flush`` ignores its timeout, so the bound has to come
    from the exporter: one ``export()`` call must not outlast one retry budget, however many
    tokens and request bodies it holds.
    """

    exporter = fast_exporter(closed_endpoint(), budget=2.0, backoff=0.05)
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=3_600_000))
    tracer = provider.get_tracer("tests.faults")
    for i in range(100):  # 4 request bodies per token, 3 tokens: 12 sends
        with tracer.start_as_current_span(f"GET {ROUTE}", kind=SpanKind.SERVER) as span:
            span.set_attributes(
                {
                    "http.request.method": "GET",
                    "http.response.status_code": 200,
                    "http.route": ROUTE,
                    "ga.page.content_type": "text/html",
                    "ga.page.title": f"t{i}",
                }
            )
    thread, _ = _in_thread(lambda: provider.force_flush(3_000))
    # One budget (2 s) plus slack; 12 sends x 2 s = 24 s would mean the bound is per request body.
    thread.join(timeout=8)
    alive = thread.is_alive()
    exporter.shutdown()  # ends the retries either way
    thread.join(timeout=30)
    provider.shutdown()
    assert not alive, "force_flush with GA down outlasted one retry budget (the bound is per request body)"


def test_ga_down_across_exports_is_logged_once_per_token() -> None:
    """A failure is logged once per window, not once per export (the attempt count varies)."""
    exporter = fast_exporter(closed_endpoint(), budget=0.3, backoff=0.02, tokens=TOKENS[:1])
    with captured_logs() as logs:
        try:
            for _ in range(4):
                assert exporter.export(page_view_spans(2)) is SpanExportResult.FAILURE
        finally:
            exporter.shutdown()
    lines = [r for r in logs.records if "fault0" in r.getMessage()]
    assert len(lines) == 1, [r.getMessage() for r in lines]
