"""Counts: a delta counter as one event per attribute set and interval, for tokens that take them;
per-run events for the others; the expensive gauges observe only in a due collection."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from ga_test_support import METRIC_RUNS, METRIC_USERS, AppMapping, SpanFactory, token
from opentelemetry.exporter.google_analytics import (
    GoogleAnalyticsMetricExporter,
    GoogleAnalyticsMetricReader,
    GoogleAnalyticsSpanExporter,
    load_tokens,
)
from opentelemetry.exporter.google_analytics._counts import AGGREGATE_PARAM, observe_when_due
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

PER_RUN, COUNTS = "G-PERRUN001", "G-COUNTS001"


class Site:
    """A MeterProvider with the GA reader (a lease due once an hour) and the test app's mapping
    (its runs counter as counts), an in-memory reader standing for OTLP, the counter and a gauge
    whose callback stands for a database count."""

    def __init__(self, ga: GACollector, tokens: list[dict[str, Any]]) -> None:
        self.exporter = GoogleAnalyticsMetricExporter(tokens=tokens, endpoint=ga.endpoint,
                                                      stats_interval=3600, mapping=AppMapping())
        self.reader = GoogleAnalyticsMetricReader(self.exporter, export_interval_millis=3_600_000)
        self.otlp = InMemoryMetricReader()
        self.provider = MeterProvider(metric_readers=[self.reader, self.otlp])
        meter = self.provider.get_meter("tests.counts")
        self.runs = meter.create_counter(METRIC_RUNS)
        self.queries = 0
        self._lock = threading.Lock()
        meter.create_observable_gauge(METRIC_USERS, callbacks=[observe_when_due(self._users)])

    def _users(self, options: CallbackOptions) -> list[Observation]:
        with self._lock:
            self.queries += 1
        return [Observation(5)]


@pytest.fixture
def site(ga: GACollector, fast_retries: None) -> Iterator[Site]:
    made = Site(ga, [token(PER_RUN), token(COUNTS, aggregate_celery_events=True)])
    yield made
    made.provider.shutdown()


def _counts(ga: GACollector, measurement_id: str) -> list[tuple[str, int]]:
    return sorted((e["params"]["task"], e["params"]["value"])
                  for e in ga.events("celery_event", measurement_id)
                  if e["params"].get("namespace") == "app")


def test_counts_go_to_the_counting_token_only_as_deltas(ga: GACollector, site: Site) -> None:
    for _ in range(3):
        site.runs.add(1, {"job": "sync"})
    site.runs.add(1, {"job": "audit"})
    assert site.reader.collect_if_due() is True  # due at start: stats and counts
    assert _counts(ga, COUNTS) == [("audit", 1), ("sync", 3)]
    assert _counts(ga, PER_RUN) == []
    event = next(e for e in ga.events("celery_event", COUNTS) if e["params"]["task"] == "sync")
    assert event["params"]["label"] == "sync" and event["params"]["result"] == "Success"
    assert event["params"][AGGREGATE_PARAM] >= 1
    assert ga.invalid == []

    # Not due any more: the next collection holds only what was counted since, and no stats.
    ga.clear()
    site.runs.add(2, {"job": "sync"})
    assert site.reader.collect_if_due() is True
    assert _counts(ga, COUNTS) == [("sync", 2)]
    assert [e for e in ga.events() if e["params"]["namespace"] != "app"] == []

    # Nothing counted: nothing sent.
    ga.clear()
    assert site.reader.collect_if_due() is True
    assert ga.hits == []


def test_a_counts_only_collection_does_not_run_the_stats_callbacks(ga: GACollector, site: Site) -> None:
    assert site.reader.collect_if_due() is True  # the due one: the gauge is read once
    assert site.queries == 1
    for _ in range(5):
        site.runs.add(1, {"job": "sync"})
        assert site.reader.collect_if_due() is True
    assert site.queries == 1, "a counts-only collection ran the stats callback"
    assert sum(v for _, v in _counts(ga, COUNTS)) == 5
    # Another reader (OTLP) still reads the gauge, and sees the counter.
    data = site.otlp.get_metrics_data()
    assert site.queries == 2
    names = {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    assert {METRIC_RUNS, METRIC_USERS} <= names


def test_without_a_counting_token_the_reader_collects_only_when_due(ga: GACollector,
                                                                    fast_retries: None) -> None:
    site = Site(ga, [token(PER_RUN)])
    try:
        assert site.reader.collect_if_due() is True
        site.runs.add(4, {"job": "sync"})
        assert site.reader.collect_if_due() is False
        assert site.queries == 1
        assert _counts(ga, PER_RUN) == []
    finally:
        site.provider.shutdown()


def test_per_run_events_skip_the_counting_token(ga: GACollector, spans: SpanFactory,
                                                fast_retries: None) -> None:
    exporter = GoogleAnalyticsSpanExporter(
        tokens=[token(PER_RUN), token(COUNTS, aggregate_celery_events=True)], endpoint=ga.endpoint,
        mapping=AppMapping())
    try:
        exporter.export([spans.task("sync")])
    finally:
        exporter.shutdown()
    assert [e["params"]["task"] for e in ga.events("celery_event", PER_RUN)] == ["sync"]
    assert ga.events("celery_event", COUNTS) == []


@pytest.mark.parametrize("raw,expected", [
    (True, True), (False, False), ("true", True), ("no", False), (None, False),
    ("y", True), (2, True),  # unreadable: counts, the side that sends less
], ids=str)
def test_the_token_flag_fails_closed(raw: object, expected: bool) -> None:
    tokens = load_tokens([token(COUNTS, aggregate_celery_events=raw)])
    assert [t.aggregate_celery_events for t in tokens] == [expected]


@pytest.mark.parametrize("raw,expected", [("true", True), ("false", False), ("maybe", True)])
def test_the_default_flag_fails_closed(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_GA_AGGREGATE_CELERY_EVENTS", raw)
    assert [t.aggregate_celery_events for t in load_tokens([token(COUNTS)])] == [expected]
    # A token's own flag wins over the default.
    assert [t.aggregate_celery_events for t in
            load_tokens([token(COUNTS, aggregate_celery_events=False)])] == [False]
