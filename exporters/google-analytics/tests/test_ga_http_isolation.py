"""A host's test suite can't see or break the exporter's requests, nor the exporter the host's.

The host's HTTP mocks (``requests_mock``, ``responses``) and its own requests instrumentation
are active while the exporter sends to a real GA on 127.0.0.1: every hit arrives, the mock's
history and the instrumentation's span list stay empty, and the host's own mocked and
instrumented calls still work as before (so the empty lists could have been non-empty).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from ga_test_support import SpanFactory, token
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

HOST_URL = "http://127.0.0.1:9/host-api/"  # port 9: nothing real answers; only a mock can


@pytest.fixture
def exporter(ga: GACollector, fast_retries: None) -> Iterator[GoogleAnalyticsSpanExporter]:
    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, timeout=2.0,
                                      client_id="install-1234", validate=False)
    yield exp
    exp.shutdown()


def _export(exporter: GoogleAnalyticsSpanExporter, spans: SpanFactory, n: int = 30) -> SpanExportResult:
    return exporter.export([spans.page() for _ in range(n)])


def test_requests_mock_neither_records_nor_refuses_ga(ga: GACollector, exporter: GoogleAnalyticsSpanExporter,
                                                     spans: SpanFactory) -> None:
    requests_mock = pytest.importorskip("requests_mock")
    with requests_mock.Mocker() as mocker:  # no real_http: any unregistered URL raises NoMockAddress
        mocker.get(HOST_URL, text="mocked")
        assert _export(exporter, spans) is SpanExportResult.SUCCESS
        assert requests.get(HOST_URL, timeout=5).text == "mocked"  # the host's mock still works
        assert [r.url for r in mocker.request_history] == [HOST_URL]
    assert len(ga.events("page_view")) == 30
    assert len(ga.hits) == 2


def test_responses_neither_records_nor_refuses_ga(ga: GACollector, exporter: GoogleAnalyticsSpanExporter,
                                                 spans: SpanFactory) -> None:
    responses = pytest.importorskip("responses")
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        mock.get(HOST_URL, body="mocked")
        assert _export(exporter, spans) is SpanExportResult.SUCCESS
        assert requests.get(HOST_URL, timeout=5).text == "mocked"
        assert [c.request.url for c in mock.calls] == [HOST_URL]
    assert len(ga.events("page_view")) == 30


def test_mock_started_before_the_exporter_was_built(ga: GACollector, fast_retries: None,
                                                    spans: SpanFactory) -> None:
    """The adapter's send was bound at import: an exporter built under an active mock is not mocked."""
    responses = pytest.importorskip("responses")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, timeout=2.0,
                                          client_id="install-1234", validate=False)
        try:
            assert _export(exp, spans, 5) is SpanExportResult.SUCCESS
        finally:
            exp.shutdown()
        assert len(mock.calls) == 0
    assert len(ga.events("page_view")) == 5


def test_the_hosts_requests_instrumentation_makes_no_span_of_ga(
        ga: GACollector, exporter: GoogleAnalyticsSpanExporter, spans: SpanFactory) -> None:
    instrumentation = pytest.importorskip("opentelemetry.instrumentation.requests")
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    instrumentor = instrumentation.RequestsInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    try:
        assert _export(exporter, spans) is SpanExportResult.SUCCESS
        assert memory.get_finished_spans() == ()
        # The instrumentation is live for the host's own calls.
        requests.post(ga.endpoint + "?measurement_id=G-HOST&api_secret=host", json={}, timeout=5)
        assert [s.name for s in memory.get_finished_spans()] == ["POST"]
    finally:
        instrumentor.uninstrument()
    assert len(ga.events("page_view")) == 30


def test_exports_run_with_instrumentation_suppressed(
        ga: GACollector, exporter: GoogleAnalyticsSpanExporter, spans: SpanFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Instrumentations below requests (urllib3's) see the SDK's suppression key during a send."""
    from opentelemetry import context
    from opentelemetry.exporter.google_analytics import _http

    seen: list[object] = []
    real = _http._urlopen

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(context.get_value(context._SUPPRESS_INSTRUMENTATION_KEY))
        return real(*args, **kwargs)

    monkeypatch.setattr(_http, "_urlopen", spy)
    assert _export(exporter, spans, 5) is SpanExportResult.SUCCESS
    assert seen == [True]
    assert context.get_value(context._SUPPRESS_INSTRUMENTATION_KEY) is None  # restored after


def test_a_session_given_by_the_caller_is_used_as_given(ga: GACollector, fast_retries: None,
                                                        spans: SpanFactory) -> None:
    requests_mock = pytest.importorskip("requests_mock")
    session = requests.Session()
    adapter = requests_mock.Adapter()
    adapter.register_uri("POST", requests_mock.ANY, status_code=204)
    session.mount("http://", adapter)
    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, timeout=2.0,
                                      client_id="install-1234", validate=False, session=session)
    try:
        assert _export(exp, spans, 5) is SpanExportResult.SUCCESS
    finally:
        exp.shutdown()
    assert len(adapter.request_history) == 1
    assert ga.hits == []
