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
temporality through :data:`COUNT_RULES`: each token with ``aggregate_celery_events`` gets one
``celery_event`` per (task, result), interval and process, with the count as ``value``
(docs/privacy.md, "what is sent").
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from typing import Any

from opentelemetry import metrics
from opentelemetry.exporter.google_analytics.counts import CountRule
from opentelemetry.exporter.google_analytics.events import ParamValue
from opentelemetry.exporter.google_analytics.mapping import TASK_PLACEHOLDER, split_task_name

from otel_aa import __version__
from otel_aa.closed_sets import PLACEHOLDER, is_code_name

__all__ = ["ATTRIBUTES", "COUNT_RULES", "METRIC_TASK_RUNS", "count_run"]

METRIC_TASK_RUNS = "aa.celery.task.runs"
ATTR_NAMESPACE = "aa.task.namespace"
ATTR_TASK = "aa.task.name"
ATTR_RESULT = "aa.task.result"
#: The counter's attribute names (the OTLP allowlist keeps them: each value is code).
ATTRIBUTES = frozenset({ATTR_NAMESPACE, ATTR_TASK, ATTR_RESULT})

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
    from otel_aa.configurator import ga_metric_reader

    return bool(getattr(ga_metric_reader(), "counts_wanted", False))


@functools.lru_cache(maxsize=1024)
def _task_attributes(task_name: str) -> tuple[str, str]:
    # A site has a fixed set of task names: cached, the split costs nothing per run.
    namespace, task = split_task_name(task_name) if is_code_name(task_name) else ("", "")
    if not namespace or not task:
        return TASK_PLACEHOLDER, TASK_PLACEHOLDER
    return namespace, task


def count_run(task_name: Any, result: str) -> None:
    """Count one finished run of ``task_name`` (``Success`` or an exception class name)."""
    if not _counts_wanted():
        return
    if isinstance(task_name, str) and task_name:
        namespace, task = _task_attributes(task_name)
    else:
        namespace = task = TASK_PLACEHOLDER
    if not is_code_name(result) or "." in result:
        result = PLACEHOLDER
    _runs_counter().add(1, {ATTR_NAMESPACE: namespace, ATTR_TASK: task, ATTR_RESULT: result})


def _event_params(attributes: Mapping[str, Any]) -> Mapping[str, ParamValue] | None:
    """The ``celery_event`` params of one counter point; checked again, whoever counted."""
    namespace, task = attributes.get(ATTR_NAMESPACE), attributes.get(ATTR_TASK)
    if not is_code_name(namespace) or not is_code_name(task) or "." in str(task):
        namespace = task = TASK_PLACEHOLDER
    result = attributes.get(ATTR_RESULT)
    if not is_code_name(result) or "." in str(result):
        result = PLACEHOLDER
    return {"namespace": str(namespace), "task": str(task), "result": str(result), "label": str(task)}


#: For ``GoogleAnalyticsMetricExporter(count_rules=...)``.
COUNT_RULES: Mapping[str, CountRule] = {METRIC_TASK_RUNS: CountRule("celery_event", _event_params)}
