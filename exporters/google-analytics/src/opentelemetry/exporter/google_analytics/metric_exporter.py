"""The metric exporter: the daily install statistics once per interval per install, and counts.

Counts (:mod:`.counts`: task runs, for tokens with ``aggregate_celery_events``) go out every
:envvar:`OTEL_EXPORTER_GA_TASK_INTERVAL`, the daily stats when the lease grants a send. One reader
does both: it collects every interval while a token takes counts (else only when the lease says
a send is due, as before), and in a collection the lease doesn't call due the expensive stats
callbacks (wrapped by :func:`.counts.observe_when_due`) observe nothing. A second reader would
collect every instrument again, stats callbacks included; a second provider would hide the
counter from the OTLP reader. The lease is asked and taken exactly as before.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

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
from opentelemetry.exporter.google_analytics.counts import (
    CountRule,
    counts_only_collection,
    counts_to_events,
)
from opentelemetry.exporter.google_analytics.leases import InProcessLease, SendLease
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

#: How often :class:`GoogleAnalyticsMetricReader` asks the lease whether a send is due (and
#: collects counts), when neither the argument nor :envvar:`OTEL_EXPORTER_GA_TASK_INTERVAL` says.
DEFAULT_CHECK_INTERVAL_MILLIS = int(env.DEFAULT_TASK_INTERVAL * 1000)


class GoogleAnalyticsMetricExporter(MetricExporter):
    """Send the daily-stats gauges as GA4 ``celery_event``s, when ``lease`` grants a send.

    Takes the span exporter's arguments, plus ``stats_interval`` (seconds between sends; else
    ``OTEL_EXPORTER_GA_STATS_INTERVAL``, default one day) and ``lease`` (default
    :class:`InProcessLease`), and ``count_rules`` (counter name → :class:`.counts.CountRule`:
    the counters sent as counts to tokens with ``aggregate_celery_events``, DELTA temporality).
    Other metrics are ignored.
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
        count_rules: Mapping[str, CountRule] | None = None,
    ) -> None:
        cumulative = AggregationTemporality.CUMULATIVE
        kinds = (UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge)
        temporality: dict[type, AggregationTemporality] = {kind: cumulative for kind in kinds}
        # Each process sends what it counted since its last send: counts from many add up.
        temporality[Counter] = AggregationTemporality.DELTA
        super().__init__(preferred_temporality=temporality)
        self.count_rules: Mapping[str, CountRule] = dict(count_rules or {})
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

    @property
    def takes_counts(self) -> bool:
        """Whether a token takes counts now (so the reader collects every interval)."""
        if not self.count_rules or self._shutdown:
            return False
        return any(t.celery_events and t.aggregate_celery_events for t in self.tokens)

    @property
    def takes_stats(self) -> bool:
        """Whether a token takes the daily stats now (else the lease is not even asked)."""
        return not self._shutdown and any(t.daily_stats for t in self.tokens)

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
            counts = [e for e in pipeline.sanitize(counts_to_events(metrics_data, self.count_rules))
                      if any(t.admits(e) for t in tokens)]
            ok = pipeline.deliver(counts, tokens) if counts else True
            events = pipeline.sanitize(metrics_to_events(metrics_data))
            # No stats in this collection (a counts-only one, or none yet): keep the lease.
            if not events or not any(t.admits(e) for t in tokens for e in events):
                return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE
            if not self.lease.acquire():
                return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE
            stats_ok = pipeline.deliver(events, tokens)
            if not stats_ok:
                self.lease.release()
            ok = ok and stats_ok
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
    """A periodic reader that collects when the lease says a send is due, or counts are wanted.

    The daily-stats gauges count rows in the database; this keeps those queries to the rare
    moments a send can happen. It asks the lease every ``export_interval_millis`` (default
    :envvar:`OTEL_EXPORTER_GA_TASK_INTERVAL`, 60 s), so the first send happens soon after start;
    while a token takes counts it collects at each of those checks, counts only unless due
    (see the module's docstring). ``force_flush()`` collects everything regardless.
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
        #: Whether a token took counts at the last look (start, then every check): an app's
        #: counting hook may read it to skip the work when nobody takes counts.
        self.counts_wanted = False
        if export_interval_millis:
            self._check_seconds = export_interval_millis / 1e3
        else:
            try:
                self._check_seconds = float(resolve(env.OTEL_EXPORTER_GA_TASK_INTERVAL, None,
                                                    env.DEFAULT_TASK_INTERVAL, parse_positive_float))
            except Exception:  # resolve reports bad values itself; this is belt and braces
                self._check_seconds = env.DEFAULT_TASK_INTERVAL
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
        self._look_for_counts()
        while not self._stop_checking.wait(self._check_seconds):
            self.collect_if_due()

    def _look_for_counts(self) -> bool:
        try:
            self.counts_wanted = self._ga_exporter.takes_counts
        except Exception:  # a token source that fails: no counting until it answers
            self.counts_wanted = False
        return self.counts_wanted

    def collect_if_due(self) -> bool:
        """Collect (and so export) when the lease says a send is due, or counts only when a
        token takes counts; return whether it collected. Also the flush at exit and fork."""
        try:
            # No token takes the stats: their lease would stay due, and the gauges would count
            # rows at every check for nothing.
            due = self._ga_exporter.takes_stats and self._ga_exporter.lease.due()
            if not self._look_for_counts() and not due:
                return False
            with counts_only_collection(not due):
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
