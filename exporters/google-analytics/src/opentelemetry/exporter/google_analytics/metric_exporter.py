"""The metric exporter: the daily install statistics, once per interval per install."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import requests
from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics._log import log_per_window
from opentelemetry.exporter.google_analytics._pipeline import (
    ClientId,
    DeliveryObserver,
    TokenSource,
    UserProperties,
    _Pipeline,
    build_pipeline,
)
from opentelemetry.exporter.google_analytics.mapping import metrics_to_events
from opentelemetry.exporter.google_analytics.settings import parse_positive_float, resolve
from opentelemetry.exporter.google_analytics.tokens import Token
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)

__all__ = [
    "GoogleAnalyticsMetricExporter",
    "GoogleAnalyticsMetricReader",
    "InProcessLease",
    "SendLease",
]

_logger = logging.getLogger("opentelemetry.exporter.google_analytics")

#: How often :class:`GoogleAnalyticsMetricReader` asks the lease whether a send is due.
DEFAULT_CHECK_INTERVAL_MILLIS = 60_000


@runtime_checkable
class SendLease(Protocol):
    """Decides who sends the daily stats, and when (one send per interval per install)."""

    def due(self) -> bool:
        """Cheap check: could a send happen now? (No side effects.)"""

    def acquire(self) -> bool:
        """Atomically take the right to send now; ``False`` when not due or taken elsewhere."""

    def release(self) -> None:
        """Give the right back after a failed send, so that another attempt can happen soon."""


class InProcessLease:
    """A lease held in this process only: due at start, then once per ``interval`` seconds.

    Good for one process; an install with several processes or hosts needs a shared lease (the
    ``otel_aa`` distro provides one over Django's cache and database).
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._next_due = time.monotonic()
        self._previous_due = self._next_due

    def due(self) -> bool:
        return time.monotonic() >= self._next_due

    def acquire(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now < self._next_due:
                return False
            self._previous_due, self._next_due = self._next_due, now + self.interval
            return True

    def release(self) -> None:
        with self._lock:
            self._next_due = self._previous_due


class GoogleAnalyticsMetricExporter(MetricExporter):
    """Send the daily-stats gauges as GA4 ``celery_event``s, when ``lease`` grants a send.

    Takes the span exporter's arguments, plus ``stats_interval`` (seconds between sends; else
    ``OTEL_EXPORTER_GA_STATS_INTERVAL``, default one day) and ``lease`` (default
    :class:`InProcessLease`). Other metrics are ignored.
    """

    def __init__(
        self,
        tokens: Sequence[Token | Mapping[str, Any]] | str | None = None,
        measurement_id: str | None = None,
        api_secret: str | None = None,
        page_views: bool | None = None,
        celery_events: bool | None = None,
        daily_stats: bool | None = None,
        ignore_paths: Sequence[str] | str | None = None,
        endpoint: str | None = None,
        timeout: float | None = None,
        validate: bool | None = None,
        client_id: ClientId | None = None,
        user_properties: UserProperties | None = None,
        session: requests.Session | None = None,
        token_source: TokenSource | None = None,
        delivery_observer: DeliveryObserver | None = None,
        stats_interval: float | None = None,
        lease: SendLease | None = None,
    ) -> None:
        cumulative = AggregationTemporality.CUMULATIVE
        super().__init__(preferred_temporality={
            kind: cumulative for kind in (Counter, UpDownCounter, Histogram, ObservableCounter,
                                          ObservableUpDownCounter, ObservableGauge)
        })
        self._pipeline: _Pipeline | None = build_pipeline(dict(
            tokens=tokens, measurement_id=measurement_id, api_secret=api_secret,
            page_views=page_views, celery_events=celery_events, daily_stats=daily_stats,
            ignore_paths=ignore_paths, endpoint=endpoint, timeout=timeout, validate=validate,
            client_id=client_id, user_properties=user_properties, session=session,
            token_source=token_source, delivery_observer=delivery_observer,
        ))
        try:
            self.stats_interval = resolve(env.OTEL_EXPORTER_GA_STATS_INTERVAL, stats_interval,
                                          env.DEFAULT_STATS_INTERVAL, parse_positive_float)
        except Exception:  # resolve reports bad values itself; this is belt and braces
            self.stats_interval = env.DEFAULT_STATS_INTERVAL
        self.lease: SendLease = lease if lease is not None else InProcessLease(self.stats_interval)
        self._shutdown = False

    def __repr__(self) -> str:
        return f"GoogleAnalyticsMetricExporter({self._pipeline!r}, stats_interval={self.stats_interval})"

    @property
    def tokens(self) -> list[Token]:
        """The valid tokens this exporter sends to."""
        return list(self._pipeline.tokens) if self._pipeline else []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000,
               **kwargs: Any) -> MetricExportResult:
        if self._shutdown:
            return MetricExportResult.FAILURE
        pipeline = self._pipeline
        if pipeline is None:
            return MetricExportResult.SUCCESS
        try:
            tokens = pipeline.tokens
            if not tokens:
                return MetricExportResult.SUCCESS
            events = pipeline.sanitize(metrics_to_events(metrics_data))
            # No stats in this collection (another reader's metrics, or none yet): keep the lease.
            if not events or not any(t.admits(e) for t in tokens for e in events):
                return MetricExportResult.SUCCESS
            if not self.lease.acquire():
                return MetricExportResult.SUCCESS
            ok = pipeline.deliver(events, tokens)
            if not ok:
                self.lease.release()
        except Exception as exc:
            log_per_window(f"metric-export:{type(exc).__name__}", logging.ERROR,
                           "Google Analytics metric export failed unexpectedly (%s)",
                           type(exc).__name__)
            return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Stop retries in progress and close the HTTP session."""
        self._shutdown = True
        if self._pipeline is not None:
            self._pipeline.shutdown()


class GoogleAnalyticsMetricReader(PeriodicExportingMetricReader):
    """A periodic reader that collects only when the exporter's lease says a send is due.

    The daily-stats gauges count rows in the database; this keeps those queries to the rare
    moments a send can happen. It asks the lease every ``export_interval_millis`` (default
    60 s), so the first send happens soon after start. ``force_flush()`` collects regardless.
    """

    def __init__(
        self,
        exporter: GoogleAnalyticsMetricExporter,
        export_interval_millis: float | None = DEFAULT_CHECK_INTERVAL_MILLIS,
        export_timeout_millis: float | None = None,
    ) -> None:
        # The base class's own timer is off (infinite interval): ours asks the lease first.
        super().__init__(exporter, math.inf, export_timeout_millis)
        self._ga_exporter = exporter
        interval = export_interval_millis if export_interval_millis else DEFAULT_CHECK_INTERVAL_MILLIS
        self._check_seconds = interval / 1e3
        self._stop_checking = threading.Event()
        self._checker = self._start_checker()
        if hasattr(os, "register_at_fork"):
            weak_restart = weakref.WeakMethod(self._after_fork)

            def _after_in_child() -> None:
                restart = weak_restart()
                if restart is not None:
                    restart()

            os.register_at_fork(after_in_child=_after_in_child)

    def _start_checker(self) -> threading.Thread:
        thread = threading.Thread(target=self._check_loop, name="GoogleAnalyticsMetricReader",
                                  daemon=True)
        thread.start()
        return thread

    def _after_fork(self) -> None:
        if not self._stop_checking.is_set():
            self._checker = self._start_checker()

    def _check_loop(self) -> None:
        while not self._stop_checking.wait(self._check_seconds):
            self.collect_if_due()

    def collect_if_due(self) -> bool:
        """Collect (and so export) when the lease says a send is due; return whether it did."""
        try:
            if not self._ga_exporter.lease.due():
                return False
            self.collect(timeout_millis=self._export_timeout_millis)
        except Exception as exc:
            log_per_window(f"metric-collect:{type(exc).__name__}", logging.WARNING,
                           "Google Analytics exporter: collecting the daily stats failed (%s)",
                           type(exc).__name__)
            return False
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._stop_checking.set()
        if self._checker.is_alive() and self._checker is not threading.current_thread():
            self._checker.join(timeout=timeout_millis / 1e3)
        super().shutdown(timeout_millis=timeout_millis, **kwargs)
