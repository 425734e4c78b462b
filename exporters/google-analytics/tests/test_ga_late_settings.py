"""Settings are resolved once, at construction, and again only by ``reload_settings()``: the one
moment a host's settings can appear after the exporter was built (under ``opentelemetry-instrument``
the exporter exists before the application has loaded its settings). Also: extra destinations
from a ``token_source``, read at each export."""

from __future__ import annotations

import gc
import logging
import weakref
from typing import Any

import pytest
from ga_test_support import MEASUREMENT_ID, OTHER_ID, OTHER_SECRET, SECRET, SpanFactory, token
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter, reload_settings
from opentelemetry.exporter.google_analytics import _config as ga_config
from opentelemetry.exporter.google_analytics._tokens import Token, load_tokens
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace.export import SpanExportResult


def test_host_settings_that_appear_later_are_used_after_the_reload(ga: GACollector,
                                                                     spans: SpanFactory) -> None:
    host: dict[str, Any] = {}  # the host's settings, not loaded yet
    exporter = GoogleAnalyticsSpanExporter(settings=host)
    try:
        assert exporter.tokens == []
        host.update(OTEL_EXPORTER_GA_TOKENS=[token()], OTEL_EXPORTER_GA_ENDPOINT=ga.endpoint)
        assert exporter.tokens == []  # not polled: nothing changes until the reload
        reload_settings()
        assert [t.measurement_id for t in exporter.tokens] == [MEASUREMENT_ID]
        # The transport follows: the hit reaches the endpoint the settings now name.
        assert exporter.export([spans.page()]) is SpanExportResult.SUCCESS
        (hit,) = ga.hits
        assert hit.query["measurement_id"] == MEASUREMENT_ID
    finally:
        exporter.shutdown()


def test_nothing_is_resolved_per_export(ga: GACollector, spans: SpanFactory,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def host(name: str) -> Any:
        asked.append(name)
        return None

    exporter = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, settings=host)
    try:
        assert "OTEL_EXPORTER_GA_DISABLED" in asked and "OTEL_EXPORTER_GA_TIMEOUT" in asked
        asked.clear()
        monkeypatch.setenv("OTEL_EXPORTER_GA_DISABLED", "true")  # seen at the reload, not before
        for _ in range(3):
            assert exporter.export([spans.page()]) is SpanExportResult.SUCCESS
        assert asked == []
        assert len(ga.hits) == 3
        reload_settings()
        assert "OTEL_EXPORTER_GA_TIMEOUT" in asked  # the reload asks again (the env decides the switch)
        assert exporter.export([spans.page()]) is SpanExportResult.SUCCESS
        assert len(ga.hits) == 3  # disabled now
    finally:
        exporter.shutdown()


def test_a_reload_keeps_the_arguments_and_takes_a_new_client_id(monkeypatch: pytest.MonkeyPatch) -> None:
    host: dict[str, Any] = {}
    exporter = GoogleAnalyticsSpanExporter(timeout=2.0, settings=host)
    try:
        assert exporter._pipeline is not None
        before = exporter._pipeline.client_id()  # this process's random one
        monkeypatch.setenv("OTEL_EXPORTER_GA_TIMEOUT", "5")
        host["OTEL_EXPORTER_GA_CLIENT_ID"] = "admin-chosen-id"
        reload_settings()
        assert exporter.config is not None and exporter.config.timeout == 2.0  # the argument still wins
        assert exporter._pipeline.client_id() == "admin-chosen-id" != before
    finally:
        exporter.shutdown()


def test_a_failing_reload_keeps_the_settings_and_does_not_raise(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    exporter = GoogleAnalyticsSpanExporter(tokens=[token()])
    try:
        kept = exporter.config

        def broken(*args: Any) -> Any:
            raise RuntimeError("boom")

        monkeypatch.setattr("opentelemetry.exporter.google_analytics._pipeline.resolve_config", broken)
        caplog.set_level(logging.ERROR)
        reload_settings()
        reload_settings()
        assert exporter.config is kept
        assert sum("reloading the settings failed (RuntimeError)" in r.getMessage()
                   for r in caplog.records) == 1
    finally:
        exporter.shutdown()


def test_a_dead_exporter_is_not_reloaded() -> None:
    exporter = GoogleAnalyticsSpanExporter(tokens=[token()])
    assert exporter._pipeline in ga_config._live
    pipeline = weakref.ref(exporter._pipeline)
    exporter.shutdown()
    del exporter
    gc.collect()
    assert pipeline() is None  # the registry holds no strong reference
    reload_settings()


def test_token_source_adds_destinations_read_at_each_export(ga: GACollector, spans: SpanFactory) -> None:
    extra = load_tokens(tokens=[token(OTHER_ID, OTHER_SECRET)])
    calls: list[int] = []

    def source() -> list[Token]:
        calls.append(1)
        # The same token twice (as configured and as a source) is sent to once.
        return [*extra, *load_tokens(tokens=[token()])]

    exporter = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, token_source=source)
    exporter.export([spans.page()])
    assert len(calls) == 1
    assert sorted(hit.query["measurement_id"] for hit in ga.hits) == sorted([MEASUREMENT_ID, OTHER_ID])
    assert all(SECRET not in repr(t) for t in exporter.tokens)
    exporter.shutdown()
