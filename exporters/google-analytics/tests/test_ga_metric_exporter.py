"""Daily stats: the gauges an app's mapping names → its events, once per interval, collected only
when due."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from ga_test_support import ATTR_PLUGIN, METRIC_PLUGINS, METRIC_USERS, AppMapping, token
from opentelemetry.exporter.google_analytics import (
    GoogleAnalyticsMetricExporter,
    GoogleAnalyticsMetricReader,
    InProcessLease,
    SendLease,
)
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExportResult


class CountingGauges:
    """The test app's daily-stats gauges, counting how often their (database) callbacks run."""

    def __init__(self, provider: MeterProvider) -> None:
        self.calls = 0
        self.called = threading.Event()
        meter = provider.get_meter("tests.stats")
        meter.create_observable_gauge(METRIC_USERS, callbacks=[self._users])
        meter.create_observable_gauge(METRIC_PLUGINS, callbacks=[self._apps])

    def _users(self, options: CallbackOptions) -> list[Observation]:
        self.calls += 1
        self.called.set()
        return [Observation(5)]

    def _apps(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(1, {ATTR_PLUGIN: "srp"})]


@pytest.fixture
def setup(ga: GACollector, fast_retries: None) -> Iterator[tuple[GoogleAnalyticsMetricExporter,
                                                                 GoogleAnalyticsMetricReader,
                                                                 CountingGauges]]:
    exporter = GoogleAnalyticsMetricExporter(tokens=[token()], endpoint=ga.endpoint, stats_interval=3600,
                                             mapping=AppMapping())
    # A long check interval: the test drives the checks itself.
    reader = GoogleAnalyticsMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    gauges = CountingGauges(provider)
    yield exporter, reader, gauges
    provider.shutdown()


def test_sends_once_per_interval_and_collects_only_when_due(ga: GACollector, setup: tuple) -> None:
    exporter, reader, gauges = setup
    assert isinstance(exporter.lease, SendLease)
    assert reader.collect_if_due() is True
    assert gauges.calls == 1
    assert [(e["params"]["task"], e["params"]["label"], e["params"]["value"]) for e in ga.events()] == [
        ("report", "users", 5), ("report", "srp", 1)]
    assert ga.invalid == []
    # Not due again for an hour: no collection, so the database is not queried.
    assert reader.collect_if_due() is False
    assert gauges.calls == 1
    assert len(ga.hits) == 1


def test_failed_send_gives_the_lease_back(ga: GACollector, setup: tuple,
                                          monkeypatch: pytest.MonkeyPatch) -> None:

    exporter, reader, _ = setup
    ga.fail_next(1, status=400)
    assert reader.collect_if_due() is True
    assert ga.hits == []
    assert exporter.lease.due()  # released: the next check tries again
    assert reader.collect_if_due() is True
    assert len(ga.hits) == 1
    assert not exporter.lease.due()


def test_reader_checks_on_its_own_thread(ga: GACollector, fast_retries: None) -> None:
    exporter = GoogleAnalyticsMetricExporter(tokens=[token()], endpoint=ga.endpoint, mapping=AppMapping())
    reader = GoogleAnalyticsMetricReader(exporter, export_interval_millis=20)
    provider = MeterProvider(metric_readers=[reader])
    gauges = CountingGauges(provider)
    try:
        assert ga.wait_for(lambda c: len(c.hits) == 1, timeout=10)
        assert gauges.called.is_set()
    finally:
        provider.shutdown()
    assert len(ga.hits) == 1  # one day's lease: later checks did not send again


def test_lease_is_atomic() -> None:
    lease = InProcessLease(3600)
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def take() -> None:
        barrier.wait()
        results.append(lease.acquire())

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_no_stats_in_collection_keeps_the_lease(ga: GACollector, fast_retries: None) -> None:
    from opentelemetry.sdk.metrics.export import MetricsData

    exporter = GoogleAnalyticsMetricExporter(tokens=[token()], endpoint=ga.endpoint, mapping=AppMapping())
    assert exporter.export(MetricsData(resource_metrics=[])) is MetricExportResult.SUCCESS
    assert exporter.lease.due()
    assert ga.requests == []
    exporter.shutdown()


def test_daily_stats_flag_off_sends_nothing(ga: GACollector, fast_retries: None) -> None:
    exporter = GoogleAnalyticsMetricExporter(tokens=[token(daily_stats=False)], endpoint=ga.endpoint,
                                             mapping=AppMapping())
    reader = GoogleAnalyticsMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    CountingGauges(provider)
    reader.collect_if_due()
    assert ga.requests == []
    assert exporter.lease.due()
    provider.shutdown()


def test_without_a_mapping_of_its_own_no_metric_is_sent(ga: GACollector, fast_retries: None) -> None:
    # The exporter knows no app's metrics: the default mapping names none, so nothing goes out
    # and the lease is kept for a mapping that does.
    exporter = GoogleAnalyticsMetricExporter(tokens=[token()], endpoint=ga.endpoint)
    reader = GoogleAnalyticsMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    gauges = CountingGauges(provider)
    try:
        assert reader.collect_if_due() is True
        assert gauges.calls == 1
        assert ga.requests == []
        assert exporter.lease.due()
    finally:
        provider.shutdown()
