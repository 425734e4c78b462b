"""The reader inside the ``MeterProvider`` that owns it: the provider's flush sends what is due and
nothing else (no stats callback runs for a lease that would refuse), its shutdown stops the
reader, ``send_due_at_shutdown`` gives a process that ends before its first check a last send,
and :meth:`GoogleAnalyticsMetricReader.running` lists the live readers for an app's hooks."""

from __future__ import annotations

import threading

from ga_test_support import ATTR_PLUGIN, METRIC_PLUGINS, METRIC_USERS, AppMapping, token
from opentelemetry.exporter.google_analytics import GoogleAnalyticsMetricReader, InProcessLease
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider


class _Gauges:
    """Daily-stats gauges whose callbacks (the database's work, in a real app) are counted."""

    def __init__(self, provider: MeterProvider) -> None:
        self.calls = 0
        self._lock = threading.Lock()
        meter = provider.get_meter("tests.lifecycle")
        meter.create_observable_gauge(METRIC_USERS, callbacks=[self._users])
        meter.create_observable_gauge(METRIC_PLUGINS, callbacks=[self._plugins])

    def _users(self, options: CallbackOptions) -> list[Observation]:
        with self._lock:
            self.calls += 1
        return [Observation(3)]

    def _plugins(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(1, {ATTR_PLUGIN: "srp"})]


def _reader(ga: GACollector, lease: InProcessLease, **kwargs: object) -> GoogleAnalyticsMetricReader:
    # As the SDK builds it from the entry point: the exporter's keyword arguments, no interval
    # (the default check interval is a minute: the test's flushes and shutdowns come first).
    return GoogleAnalyticsMetricReader(tokens=[token()], endpoint=ga.endpoint, mapping=AppMapping(),
                                       lease=lease, **kwargs)  # type: ignore[arg-type]


def _reports(ga: GACollector) -> int:
    return sum(1 for e in ga.events() if e["params"].get("label") == "users")


def test_the_providers_flush_sends_when_due_and_runs_no_callback_when_not(ga: GACollector,
                                                                           fast_retries: None) -> None:
    lease = InProcessLease(3600)
    reader = _reader(ga, lease)
    provider = MeterProvider(metric_readers=[reader])
    gauges = _Gauges(provider)
    try:
        assert reader in GoogleAnalyticsMetricReader.running()
        assert provider.force_flush(10_000)
        assert (_reports(ga), gauges.calls) == (1, 1)
        # Not due for an hour: a flush (a worker child's exit) collects nothing at all.
        assert provider.force_flush(10_000)
        assert (_reports(ga), gauges.calls) == (1, 1)
    finally:
        provider.shutdown()
    assert reader not in GoogleAnalyticsMetricReader.running()
    assert not reader._checker.is_alive()
    assert reader._ga_exporter._shutdown


def test_shutdown_sends_what_is_due_only_when_asked_to(ga: GACollector, fast_retries: None) -> None:
    plain = _reader(ga, InProcessLease(3600))
    provider = MeterProvider(metric_readers=[plain])
    gauges = _Gauges(provider)
    provider.shutdown()
    assert (_reports(ga), gauges.calls) == (0, 0)  # the SDK's way: a reader stops, it doesn't send

    lease = InProcessLease(3600)
    last = _reader(ga, lease, send_due_at_shutdown=True)
    provider = MeterProvider(metric_readers=[last])
    gauges = _Gauges(provider)
    provider.shutdown()  # the process ends before the reader's first check
    assert (_reports(ga), gauges.calls) == (1, 1)
    assert not lease.due()
    last.shutdown()  # once only: no second send, no warning
    assert _reports(ga) == 1


def test_shutdown_after_a_send_sends_nothing_more(ga: GACollector, fast_retries: None) -> None:
    reader = _reader(ga, InProcessLease(3600), send_due_at_shutdown=True)
    provider = MeterProvider(metric_readers=[reader])
    gauges = _Gauges(provider)
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert (_reports(ga), gauges.calls) == (1, 1)
