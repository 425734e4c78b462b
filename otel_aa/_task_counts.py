"""Celery task runs as an OpenTelemetry counter, and how GA gets it as aggregated task events.

:func:`count_run` (called by otel-aa's Celery hooks on the task thread: a dict lookup and
``Counter.add``, no I/O) adds 1 to ``aa.celery.task.runs`` on the global ``MeterProvider``, with
the attributes the per-run ``celery_event`` carries, each code or a placeholder:

=====================  ===========================================================
attribute              value
=====================  ===========================================================
``aa.task.namespace``  the task's module without ``.tasks`` (``other``: not a dotted name)
``aa.task.name``       the task's function name (``other`` likewise)
``aa.task.result``     ``Success`` or a failure's exception class name (else ``Error``)
=====================  ===========================================================

A retry is not a run: only ``task_success`` and ``task_failure`` count; and only while a token
takes counts (the GA reader looks at start and every interval), so by default a task does no
metrics work. Every metrics reader of
the global provider sees the counter (OTLP included). The GA metric exporter reads it with DELTA
temporality through :data:`otel_aa._ga_mapping.COUNT_RULES`: each token with
``aggregate_celery_events`` gets one ``celery_event`` per (task, result), interval and process,
with the count as ``value`` (docs/privacy.md, "what is sent").
"""

from __future__ import annotations

import threading
from typing import Any

from opentelemetry import metrics

from otel_aa import __version__
from otel_aa._closed_sets import PLACEHOLDER, is_code_name
from otel_aa._ga_mapping import TASK_PLACEHOLDER, task_names
from otel_aa.names import ATTR_TASK_NAME, ATTR_TASK_NAMESPACE, ATTR_TASK_RESULT, METRIC_TASK_RUNS

__all__ = ["count_run"]

_lock = threading.Lock()
_counter: Any = None


def _runs_counter() -> Any:
    global _counter
    if _counter is None:
        with _lock:
            if _counter is None:
                # Before the SDK is set up this is the API's proxy, which follows the global
                # provider once one is set.
                meter = metrics.get_meter("otel_aa.tasks", __version__)
                _counter = meter.create_counter(METRIC_TASK_RUNS, unit="{run}",
                                                description="Celery task runs (retries are not runs)")
    return _counter


def _counts_wanted() -> bool:
    # Counted only while a token takes counts (the GA reader's last look, an attribute read):
    # otherwise the task thread does no metrics work at all, as before aggregation existed.
    from opentelemetry.exporter.google_analytics import GoogleAnalyticsMetricReader

    return any(reader.counts_wanted for reader in GoogleAnalyticsMetricReader.running())


def count_run(task_name: Any, result: str) -> None:
    """Count one finished run of ``task_name`` (``Success`` or an exception class name)."""
    if not _counts_wanted():
        return
    if isinstance(task_name, str) and task_name:
        namespace, task = task_names(task_name)
    else:
        namespace = task = TASK_PLACEHOLDER
    if not is_code_name(result) or "." in result:
        result = PLACEHOLDER
    _runs_counter().add(1, {ATTR_TASK_NAMESPACE: namespace, ATTR_TASK_NAME: task, ATTR_TASK_RESULT: result})

