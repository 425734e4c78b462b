"""The metric exporter: the daily install statistics once per interval per install, and counts.

Counts (:mod:`._counts`: task runs, for tokens with ``aggregate_celery_events``) go out every
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
from typing import TYPE_CHECKING, Any

from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics._arguments import MetricExporterArgs, check_keywords
from opentelemetry.exporter.google_analytics._config import GAConfig
from opentelemetry.exporter.google_analytics._counts import counts_only_collection
from opentelemetry.exporter.google_analytics._leases import InProcessLease, SendLease
from opentelemetry.exporter.google_analytics._log import log_per_window
from opentelemetry.exporter.google_analytics._mapping import DefaultMapping, GAMapping
from opentelemetry.exporter.google_analytics._pipeline import _Pipeline, build_pipeline
from opentelemetry.exporter.google_analytics._tokens import Token
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

if TYPE_CHECKING:
    from typing_extensions import Unpack

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
    """Send the events ``mapping`` makes of metrics: counts every interval, the others (the
    daily stats) when ``lease`` grants a send.

    Takes the keyword arguments of :class:`.arguments.MetricExporterArgs`: the span exporter's,
    plus ``stats_interval`` (seconds between sends; else ``OTEL_EXPORTER_GA_STATS_INTERVAL``,
    default one day) and ``lease`` (default :class:`InProcessLease`). ``mapping`` (default
    :class:`.DefaultMapping`, which maps no metric) names the metrics and counters
    (:class:`.MetricRule`, :class:`.counts.CountRule`: counts go to tokens with
    ``aggregate_celery_events``, DELTA temporality). Other metrics are ignored.
    """

    def __init__(self, **kwargs: Unpack[MetricExporterArgs]) -> None:
        check_keywords(kwargs, MetricExporterArgs, type(self).__name__)
        cumulative = AggregationTemporality.CUMULATIVE
        kinds = (UpDownCounter, Histogram, ObservableCounter, ObservableUpDownCounter, ObservableGauge)
        temporality: dict[type, AggregationTemporality] = {kind: cumulative for kind in kinds}
        # Each process sends what it counted since its last send: counts from many add up.
        temporality[Counter] = AggregationTemporality.DELTA
        super().__init__(preferred_temporality=temporality)
        #: Which metrics become which GA events (:mod:`._mapping`).
        mapping = kwargs.get("mapping")
        self.mapping: GAMapping = mapping if mapping is not None else DefaultMapping()
        self._pipeline: _Pipeline | None = build_pipeline(kwargs, kwargs.get("stats_interval"))
        lease = kwargs.get("lease")
        # Our own lease follows the stats interval in force (see export()); one handed in is the
        # host's to configure.
        own = InProcessLease(self.stats_interval)
        self._own_lease = own if lease is None else None
        self.lease: SendLease = own if lease is None else lease
        self._shutdown = False

    def __repr__(self) -> str:
        return f"GoogleAnalyticsMetricExporter({self._pipeline!r}, stats_interval={self.stats_interval})"

    @property
    def config(self) -> GAConfig | None:
        """The settings in force (``None``: the exporter could not start)."""
        return self._pipeline.config if self._pipeline else None

    @property
    def stats_interval(self) -> float:
        """Seconds between two daily-stats sends (:envvar:`OTEL_EXPORTER_GA_STATS_INTERVAL`)."""
        return self._pipeline.config.stats_interval if self._pipeline else env.DEFAULT_STATS_INTERVAL

    @property
    def tokens(self) -> list[Token]:
        """The valid tokens this exporter sends to."""
        return list(self._pipeline.tokens) if self._pipeline else []

    @property
    def takes_counts(self) -> bool:
        """Whether a token takes counts now (so the reader collects every interval)."""
        if not self.mapping.maps_counts or self._shutdown:
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
            if self._own_lease is not None:
                self._own_lease.interval = pipeline.config.stats_interval
            tokens = pipeline.tokens
            if not tokens:
                return MetricExportResult.SUCCESS
            mapped = pipeline.sanitize(self.mapping.metrics_to_events(metrics_data))
            # Counts go every interval; the rest (the daily stats) only under the lease.
            counts = [e for e in mapped if e.aggregate is True and any(t.admits(e) for t in tokens)]
            ok = pipeline.deliver(counts, tokens) if counts else True
            events = [e for e in mapped if e.aggregate is not True]
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
    (see the module's docstring). ``force_flush()`` (the ``MeterProvider``'s) does what a check
    does: a send if due, and no database work otherwise; so does ``shutdown()`` with
    ``send_due_at_shutdown=True``.

    It wraps ``exporter``, or builds one from the keyword arguments of
    :class:`.arguments.MetricExporterArgs`: so the SDK can build it from the
    ``opentelemetry_metrics_exporter`` entry point, and the ``MeterProvider`` flushes and shuts
    it down with the others.
    """

    def __init__(
        self,
        exporter: GoogleAnalyticsMetricExporter | None = None,
        export_interval_millis: float | None = None,
        export_timeout_millis: float | None = None,
        *,
        send_due_at_shutdown: bool = False,
        **kwargs: Unpack[MetricExporterArgs],
    ) -> None:
        #: A last send at shutdown if due: for a host whose processes may end before their first
        #: check (a recycled web worker); off, a failed send waits for the next cycle.
        self._send_due_at_shutdown = send_due_at_shutdown
        if exporter is None:
            # Built by the SDK from the ``opentelemetry_metrics_exporter`` entry point, with the
            # exporter's arguments (``reader_cls(**exporter_args)``): the reader builds its exporter.
            exporter = GoogleAnalyticsMetricExporter(**kwargs)
        elif kwargs:
            raise TypeError("GoogleAnalyticsMetricReader() takes an exporter or the exporter's keyword "
                            f"arguments, not both (got {', '.join(sorted(kwargs))})")
        # The base class's own timer is off (infinite interval): ours asks the lease first.
        super().__init__(exporter, math.inf, export_timeout_millis)
        self._ga_exporter = exporter
        #: Whether a token took counts at the last look (start, then every check): an app's
        #: counting hook may read it to skip the work when nobody takes counts.
        self.counts_wanted = False
        self._interval_argument = export_interval_millis / 1e3 if export_interval_millis else None
        self._stop_checking = threading.Event()
        self._checker = self._start_checker()
        _running.add(self)
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
        while not self._stop_checking.wait(self._check_seconds()):
            self.collect_if_due()

    def _check_seconds(self) -> float:
        """The argument, else :envvar:`OTEL_EXPORTER_GA_TASK_INTERVAL` as the exporter resolved it."""
        if self._interval_argument is not None:
            return self._interval_argument
        config = self._ga_exporter.config
        return config.task_interval if config is not None else env.DEFAULT_TASK_INTERVAL

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

    @classmethod
    def running(cls) -> list[GoogleAnalyticsMetricReader]:
        """This process's readers not shut down yet: an app's counting hook asks them whether
        a token takes counts (:attr:`counts_wanted`), without a handle on the one the SDK built."""
        return list(_running)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        # A flush (a worker child's exit, the MeterProvider's force_flush) sends what is due, as
        # a check does: forcing a collection would count rows only for the lease to refuse.
        self.collect_if_due()
        return self._ga_exporter.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        if self._stop_checking.is_set():
            return  # shut down already (the SDK's readers warn; this one stays quiet)
        self._stop_checking.set()
        _running.discard(self)
        if self._checker.is_alive() and self._checker is not threading.current_thread():
            self._checker.join(timeout=timeout_millis / 1e3)
        if self._send_due_at_shutdown:
            self.collect_if_due()
        super().shutdown(timeout_millis=timeout_millis, **kwargs)


#: The readers :meth:`GoogleAnalyticsMetricReader.running` lists (weak: a dropped reader goes).
_running: weakref.WeakSet[GoogleAnalyticsMetricReader] = weakref.WeakSet()
