"""A ``client_id`` callable that can't answer yet: nothing goes out under another identity."""

from __future__ import annotations

import pytest
from ga_test_support import SpanFactory, token
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace.export import SpanExportResult


@pytest.mark.parametrize("not_yet", ["none", "raises"])
def test_events_wait_for_the_client_id_then_go_under_it(ga: GACollector, fast_retries: None,
                                                        spans: SpanFactory, not_yet: str) -> None:
    answers: list[str | None] = [None, None]
    calls = []

    def client_id() -> str | None:
        calls.append(1)
        value = answers.pop(0) if answers else "install-abcd"
        if value is None and not_yet == "raises":
            raise RuntimeError("database is locked")
        return value

    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, timeout=2.0,
                                      client_id=client_id, validate=False)
    try:
        assert exp.export([spans.page(), spans.page()]) is SpanExportResult.FAILURE
        assert exp.export([spans.page()]) is SpanExportResult.FAILURE
        assert ga.hits == []  # not under a per-process id GA would count as another install
        assert exp._pipeline is not None
        assert exp._pipeline.drops.get("client_id not known yet") == 3
        assert exp.export([spans.page()]) is SpanExportResult.SUCCESS
        assert exp.export([spans.page()]) is SpanExportResult.SUCCESS
    finally:
        exp.shutdown()
    assert [hit.body["client_id"] for hit in ga.hits] == ["install-abcd", "install-abcd"]
    assert len(calls) == 3  # asked at each export until it answered, then kept
