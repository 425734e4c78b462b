"""``GoogleAnalyticsMetricReader`` takes the exporter's keyword arguments: the SDK builds it from the
``opentelemetry_metrics_exporter`` entry point as ``reader_cls(**exporter_args)`` and hands it to
the ``MeterProvider``, which flushes and shuts it down."""

from __future__ import annotations

import pytest
from ga_test_support import MEASUREMENT_ID, token
from opentelemetry.exporter.google_analytics import (
    GoogleAnalyticsMetricExporter,
    GoogleAnalyticsMetricReader,
    InProcessLease,
)
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.metrics import MeterProvider


def test_the_reader_builds_its_exporter_from_the_exporter_arguments(ga: GACollector) -> None:
    lease = InProcessLease(5.0)
    exporter_args = {"tokens": [token()], "endpoint": ga.endpoint, "stats_interval": 5.0, "lease": lease,
                     "settings": {"OTEL_EXPORTER_GA_TASK_INTERVAL": 7}}
    reader = GoogleAnalyticsMetricReader(**exporter_args)  # what the SDK does with an entry point
    provider = MeterProvider(metric_readers=[reader])
    exporter = reader._ga_exporter
    assert isinstance(exporter, GoogleAnalyticsMetricExporter)
    assert [t.measurement_id for t in exporter.tokens] == [MEASUREMENT_ID]
    assert exporter.stats_interval == 5.0 and exporter.lease is lease
    assert reader._check_seconds() == 7.0  # the host's task interval: no interval argument given
    provider.shutdown()  # the provider shuts its readers down, and so the exporter and the checker
    assert exporter._shutdown
    assert not reader._checker.is_alive()


def test_an_interval_argument_wins_and_an_exporter_can_still_be_given() -> None:
    exporter = GoogleAnalyticsMetricExporter(tokens=[token()])
    reader = GoogleAnalyticsMetricReader(exporter, export_interval_millis=3_600_000)
    try:
        assert reader._ga_exporter is exporter
        assert reader._check_seconds() == 3600.0
    finally:
        reader.shutdown()


def test_an_exporter_and_exporter_arguments_together_are_a_type_error() -> None:
    exporter = GoogleAnalyticsMetricExporter(tokens=[token()])
    try:
        with pytest.raises(TypeError, match="not both"):
            GoogleAnalyticsMetricReader(exporter, tokens=[token()])
        with pytest.raises(TypeError, match="tokenz"):
            GoogleAnalyticsMetricReader(tokenz=[token()])  # type: ignore[call-arg]
    finally:
        exporter.shutdown()
