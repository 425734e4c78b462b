"""Regression tests for the hostile-input and fault fixes: text made printable and encodable, one bad
event costing only itself, invalid endpoint and swapped token settings, lost events counted, and
one retry budget per export."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest
from ga_test_support import SECRET, SpanFactory, token
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics._drops import DropCounter
from opentelemetry.exporter.google_analytics._endpoint import endpoint_problem
from opentelemetry.exporter.google_analytics._events import GAEvent
from opentelemetry.exporter.google_analytics._limits import clean_text, sanitize_event
from opentelemetry.exporter.google_analytics._pipeline import _Pipeline
from opentelemetry.exporter.google_analytics._tokens import load_tokens
from opentelemetry.exporter.google_analytics.testing import GACollector, validate_payload
from opentelemetry.sdk.trace.export import SpanExportResult

NOW = time.time_ns() // 1000


def _pipeline(**kwargs: object) -> _Pipeline:
    args: dict[str, object] = dict(
        tokens=[token()], measurement_id=None, api_secret=None, page_views=None, celery_events=None,
        daily_stats=None, ignore_paths=None, endpoint="http://127.0.0.1:9/mp/collect", timeout=1.0,
        validate=False, client_id="c", user_properties=None, session=None,
    )
    args.update(kwargs)
    return _Pipeline(args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Fleet\x00\x01\x07\x1b[31m\x7f ops", "Fleet[31m ops"),  # C0 and DEL removed
        ("a\r\n\tb\x85c\u2028d", "a   b c d"),  # whitespace of any kind: a space
        ("\u202eevil\u202c\u200b\ufeff", "evil"),  # bidi overrides, zero-width space, BOM
        ("caf\x9b\x80e", "cafe"),  # C1 controls
        ("bad \ud800 \udfff", "bad \ufffd \ufffd"),  # lone surrogates: one replacement each
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # the zero-width joiner of emoji stays
        ("Fleet board \u00e9\u6f22🚀", "Fleet board \u00e9\u6f22🚀"),  # printable: untouched
    ],
)
def test_clean_text(text: str, expected: str) -> None:
    cleaned = clean_text(text)
    assert cleaned == expected
    cleaned.encode("utf-8")  # strict: never raises


def test_clean_text_bounds_its_work_and_its_result() -> None:
    assert clean_text("\x00a" * 5_000_000, 100) == "a" * 100
    assert clean_text("b" * 1000, 100) == "b" * 100


def test_sanitized_params_are_printable_and_encodable() -> None:
    drops = DropCounter()
    event = GAEvent("page_view", {"page_title": "x\ud800\x00y", "n": 1}, NOW, "page_views")
    clean = sanitize_event(event, drops, NOW)
    assert clean is not None
    assert clean.params == {"page_title": "x\ufffdy", "n": 1}
    json.dumps(clean.to_json(), ensure_ascii=False).encode("utf-8")
    assert event.params["page_title"] == "x\ud800\x00y"  # the input is untouched


def test_an_unencodable_event_costs_only_itself() -> None:
    pipeline = _pipeline()
    good = [GAEvent("page_view", {"page_title": f"good {i}"}, NOW, "page_views") for i in range(3)]
    # Not through sanitize_event: what if a bug let a lone surrogate through?
    bad = GAEvent("page_view", {"page_title": "bad \ud800"}, NOW, "page_views")
    (body,) = pipeline.bodies_for([good[0], bad, *good[1:]])
    sent = json.loads(body)
    assert [e["params"]["page_title"] for e in sent["events"]] == ["good 0", "good 1", "good 2"]
    assert validate_payload(sent) == []
    assert pipeline.drops.snapshot() == {"event could not be serialized (UnicodeEncodeError)": 1}


@pytest.mark.parametrize(
    ("endpoint", "problem"),
    [
        ("not a url", "not a valid URL"),
        ("nohost", "not an http or https URL"),
        ("", "not a valid URL"),
        (("https://region1.google-analytics.com/mp/collect",), "not a URL string"),
        (b"https://region1.google-analytics.com/mp/collect", "not a URL string"),
        ("ftp://127.0.0.1/mp/collect", "not an http or https URL"),
        ("http://[::1/mp/collect", "not a valid URL"),
        ("http://127.0.0.1:99999/mp/collect", "not a valid URL"),
        ("https:///mp/collect", "a URL without a host"),
        ("https://region1.google-analytics.com/mp/collect", None),
        ("http://127.0.0.1:8080/mp/collect", None),
    ],
)
def test_endpoint_problem(endpoint: str, problem: str | None) -> None:
    assert endpoint_problem(endpoint) == problem


def test_an_invalid_endpoint_is_reported_once_and_nothing_is_sent(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, spans: SpanFactory
) -> None:
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_ENDPOINT, f"ftp://127.0.0.1/mp/collect?api_secret={SECRET}")
    caplog.set_level(logging.DEBUG)
    exporter = GoogleAnalyticsSpanExporter(tokens=[token()], validate=False)
    other = GoogleAnalyticsSpanExporter(tokens=[token()], validate=False)
    try:
        assert exporter.export([spans.page()]) is SpanExportResult.FAILURE
        assert other.export([spans.page()]) is SpanExportResult.FAILURE
        transport = exporter._pipeline.transport  # type: ignore[union-attr]
        assert transport.attempts == 0
        assert exporter._pipeline.drops.get("endpoint setting invalid") == 1  # type: ignore[union-attr]
    finally:
        exporter.shutdown()
        other.shutdown()
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(messages) == 1, messages  # one for both exporters and exports
    assert "OTEL_EXPORTER_GA_ENDPOINT" in messages[0] and "not an http or https URL" in messages[0]
    assert SECRET not in caplog.text


def test_swapped_measurement_id_and_secret_are_named_and_masked(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    assert load_tokens(tokens=[{"measurement_id": SECRET, "api_secret": "G-SWAPPED1"}]) == []
    (record,) = caplog.records
    assert "swapped" in record.getMessage()
    assert "token #1" in record.getMessage()  # a malformed id never names the token
    assert SECRET not in caplog.text


def _closed_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mp/collect"


def test_events_lost_after_retries_are_counted_per_token(spans: SpanFactory) -> None:
    exporter = GoogleAnalyticsSpanExporter(
        tokens=[token(), token("G-TEST0002", "other-secret-value")], endpoint=_closed_endpoint(),
        validate=False,
    )
    pipeline = exporter._pipeline
    assert pipeline is not None
    pipeline.transport.MAX_RETRY_SECONDS = 0.2
    pipeline.transport.BACKOFF_INITIAL = 0.01
    try:
        assert exporter.export([spans.page() for _ in range(3)]) is SpanExportResult.FAILURE
    finally:
        exporter.shutdown()
    assert pipeline.drops.snapshot() == {"events not delivered to GA": 6}


def test_one_retry_budget_per_export(ga: GACollector, spans: SpanFactory) -> None:
    """The first token's send spends the budget on 503s; the second is not attempted at all."""
    exporter = GoogleAnalyticsSpanExporter(
        tokens=[token(), token("G-TEST0002", "other-secret-value")], endpoint=ga.endpoint,
        validate=False,
    )
    pipeline = exporter._pipeline
    assert pipeline is not None
    pipeline.transport.MAX_RETRY_SECONDS = 0.3
    pipeline.transport.BACKOFF_INITIAL = 0.01
    ga.fail_next(10_000, status=503)
    try:
        assert exporter.export([spans.page()]) is SpanExportResult.FAILURE
    finally:
        exporter.shutdown()
    assert {r.query.get("measurement_id") for r in ga.requests} == {"G-TEST0001"}
    assert pipeline.drops.get("events not delivered to GA") == 2
