"""The GA daily-stats reader: the metric exporter with its lease, added to the meter provider.

It collects only when the daily-stats lease (:mod:`otel_aa.lease`) says a send is due, and the
gauges it reads are :mod:`otel_aa.stats`. The SDK's ``MeterProvider`` flushes and shuts down
only the readers given to its constructor, so this module does both for the one it adds.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry import metrics

from otel_aa._guard import guarded

__all__ = ["add", "ga_metric_reader", "shutdown_added"]

_logger = logging.getLogger(__name__)
_state: dict[str, Any] = {}


def add(metric_cls: type, reader_cls: type, exporter_args: Mapping[str, Any]) -> None:
    """Add the GA daily-stats reader to the global meter provider and register the gauges.

    The reader wraps a ``metric_cls`` exporter built with ``exporter_args``; it is shut down at exit.
    """
    provider = metrics.get_meter_provider()
    add_reader = getattr(provider, "add_metric_reader", None)
    if add_reader is None:
        _logger.error("otel-aa: this OpenTelemetry SDK can't add a metric reader; no daily stats")
        return
    kwargs: dict[str, Any] = dict(exporter_args)
    from otel_aa.task_counts import COUNT_RULES

    # Task runs, as counts for the tokens with aggregate_celery_events (otel_aa.task_counts).
    kwargs["count_rules"] = COUNT_RULES
    lease = _stats_lease()
    if lease is not None:
        kwargs["lease"] = lease
    reader = reader_cls(metric_cls(**kwargs))
    add_reader(reader)
    # The SDK's MeterProvider flushes and shuts down only the readers given to its constructor,
    # not added ones: otel-aa flushes this one itself (hooks.flush_providers) and at exit.
    _state["reader"] = reader
    atexit.register(shutdown_added)
    _register_gauges(provider)


def ga_metric_reader() -> Any:
    """The GA daily-stats reader this process added, or None."""
    return _state.get("reader")


def shutdown_added() -> None:
    """Flush (when due) and shut down the reader :func:`add` added, if any; idempotent."""
    reader = _state.pop("reader", None)
    if reader is not None:
        _shutdown_ga_reader(reader)


@guarded("shutting the daily-stats reader down")
def _shutdown_ga_reader(reader: Any) -> None:
    # A last chance to send when due (the lease decides), then stop the reader.
    from otel_aa.hooks import flush_ga_reader, flush_timeout

    flush_ga_reader(reader)
    reader.shutdown(timeout_millis=int(flush_timeout() * 1000))


def _stats_lease() -> Any:
    try:
        from otel_aa.lease import DjangoLease
    except ImportError:
        return None
    return DjangoLease()


def _register_gauges(provider: Any) -> None:
    try:
        from otel_aa.stats import register_gauges
    except ImportError:
        return
    register_gauges(provider)
