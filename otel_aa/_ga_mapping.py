"""Alliance Auth's mapping: what the GA exporters make of Celery task spans, the daily-stats
gauges and the task-run counter, on top of the exporter's generic default (custom events, page
views).

:class:`AAMapping` is handed to both GA exporters (the configurator's ``exporter_args_map`` and
every place otel-aa builds an exporter itself). Every value it sends is code, a placeholder or a
count (``docs/privacy.md``, "what is sent"):

- a CONSUMER span of a Celery task run: ``celery_event`` with ``namespace`` (the task's module
  without ``.tasks``), ``task`` and ``label`` (its function name), ``result`` (``Success`` or an
  exception class name) and ``value`` (the int64 return value, else 1); a retry sends nothing;
- the daily-stats gauges (:mod:`otel_aa._stats`): the ``celery_event``\\ s of AA's own
  ``analytics_daily_stats`` task (namespace ``allianceauth.analytics``);
- the task-run counter (:mod:`otel_aa._task_counts`): one ``celery_event`` per (task, result) and
  interval, with the count, for tokens with ``aggregate_celery_events``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from opentelemetry.exporter.google_analytics import (
    CountRule,
    DefaultMapping,
    GAEvent,
    MetricRule,
    ParamValue,
    int64_or_one,
    is_code_name,
    span_event,
)
from opentelemetry.sdk.metrics.export import NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from otel_aa import names
from otel_aa._closed_sets import PLACEHOLDER

__all__ = ["CELERY_EVENT", "COUNT_RULES", "EXTENSION_STATS_TASK", "INSTALL_STATS_TASK", "STATS_NAMESPACE",
           "STATS_RULES", "SUCCESS", "TASK_PLACEHOLDER", "AAMapping", "task_names"]

CELERY_EVENT = "celery_event"
#: Sent as ``namespace`` and ``task`` for a task name that isn't a dotted path of identifiers.
TASK_PLACEHOLDER = "other"
STATS_NAMESPACE = "allianceauth.analytics"
INSTALL_STATS_TASK = "send_install_stats"
EXTENSION_STATS_TASK = "send_extension_stats"
_CONSUMER = SpanKind.CONSUMER
#: ``result`` of a task run that didn't fail.
SUCCESS = "Success"


# --- Celery naming -------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def task_names(task_name: str) -> tuple[str, str]:
    """``(namespace, task)`` of a Celery task name, or :data:`TASK_PLACEHOLDER` twice.

    ``allianceauth.eveonline.tasks.update_character`` → ``("allianceauth.eveonline",
    "update_character")``: the module path minus a trailing ``.tasks``, and the function name.
    Cached: a site has a fixed set of task names, so the split costs nothing per run.
    """
    if not is_code_name(task_name):
        return TASK_PLACEHOLDER, TASK_PLACEHOLDER
    module, _, task = task_name.rpartition(".")
    if module.endswith(".tasks"):
        module = module[: -len(".tasks")]
    if not module or not task:
        return TASK_PLACEHOLDER, TASK_PLACEHOLDER
    return module, task


def _class_name(name: object) -> str:
    # A result is a class name (no dots) or the placeholder, whoever set the attribute.
    return name if isinstance(name, str) and is_code_name(name) and "." not in name else PLACEHOLDER


def _exception_class(span: ReadableSpan) -> str:
    for event in span.events or ():
        if event.name == names.EXCEPTION_EVENT and event.attributes:
            exc_type = event.attributes.get(names.EXCEPTION_TYPE)
            if isinstance(exc_type, str) and exc_type:
                # The class-name part only; the message is never read.
                return _class_name(exc_type.rsplit(".", 1)[-1])
    return PLACEHOLDER


def _celery_event(span: ReadableSpan, attrs: Mapping[str, Any]) -> GAEvent | None:
    # Once per task run on the export thread: span.name is a property call, read at most once.
    action = attrs.get(names.CELERY_ACTION)
    span_name = None
    if action != "run":
        span_name = span.name
        if not (action is None and span_name.startswith("run/")):
            return None
    result = attrs.get(names.GA_TASK_RESULT)
    state = attrs.get(names.CELERY_STATE)
    if result == "Retry" or (isinstance(state, str) and state.upper() == "RETRY"):
        return None  # a retry is not a failure; the final run sends the event
    task_name = attrs.get(names.CELERY_TASK_NAME)
    if not isinstance(task_name, str) or not task_name:
        span_name = span.name if span_name is None else span_name
        task_name = span_name[len("run/"):] if span_name.startswith("run/") else ""
    if not task_name:
        return None
    # Code or a placeholder, whoever set the attributes: a task name that isn't a dotted path
    # of identifiers, a result that isn't a class name, an int beyond int64.
    namespace, task = task_names(task_name)
    if not isinstance(result, str) or not result:
        failed = span.status is not None and span.status.status_code is StatusCode.ERROR
        result = _exception_class(span) if failed else SUCCESS
    elif result != SUCCESS:  # "Success" is a class name: the common case skips the check
        result = _class_name(result)
    params: dict[str, ParamValue] = {
        "namespace": namespace,
        "task": task,
        "result": result,
        "label": task,
        "value": int64_or_one(attrs.get(names.GA_TASK_VALUE)),
    }
    # One run's event: a token that takes task counts instead (aggregate_celery_events) skips it.
    return span_event(span, CELERY_EVENT, params, "celery_events", aggregate=False)


# --- the daily stats -----------------------------------------------------------------------------


def _stats(task: str, label: str, value: int) -> dict[str, ParamValue]:
    return {"namespace": STATS_NAMESPACE, "task": task, "result": SUCCESS, "label": label,
            "value": value}


def _count(label: str) -> MetricRule:
    return MetricRule(CELERY_EVENT, lambda point: [_stats(INSTALL_STATS_TASK, label, int(point.value))])


def _existence(point: NumberDataPoint) -> list[dict[str, ParamValue]]:
    found = [_stats(INSTALL_STATS_TASK, "existence", int(point.value))]
    kind = (point.attributes or {}).get(names.ATTR_INSTALL_KIND)
    if kind in names.INSTALL_KINDS:
        found.append(_stats(INSTALL_STATS_TASK, f"existence_{kind}", int(point.value)))
    return found


def _extension(point: NumberDataPoint) -> list[dict[str, ParamValue]]:
    label = (point.attributes or {}).get(names.ATTR_APP_LABEL)
    return [_stats(EXTENSION_STATS_TASK, label, 1)] if isinstance(label, str) and label and point.value \
        else []


#: Gauge name → rule: AA's ``send_install_stats`` and ``send_extension_stats`` events.
#: ``aa.version`` makes no event: the version is a user property.
STATS_RULES: Mapping[str, MetricRule] = {
    names.METRIC_INSTALL_EXISTENCE: MetricRule(CELERY_EVENT, _existence),
    names.METRIC_USERS: _count("users"),
    names.METRIC_ESI_TOKENS: _count("tokens"),
    names.METRIC_APPS: _count("addons"),
    names.METRIC_APP_INSTALLED: MetricRule(CELERY_EVENT, _extension),
}


# --- task runs, counted --------------------------------------------------------------------------


def _task_count_params(attributes: Mapping[str, Any]) -> Mapping[str, ParamValue] | None:
    """The ``celery_event`` params of one counter point; checked again, whoever counted."""
    namespace, task = attributes.get(names.ATTR_TASK_NAMESPACE), attributes.get(names.ATTR_TASK_NAME)
    if not is_code_name(namespace) or not is_code_name(task) or "." in str(task):
        namespace = task = TASK_PLACEHOLDER
    result = _class_name(attributes.get(names.ATTR_TASK_RESULT))
    return {"namespace": str(namespace), "task": str(task), "result": result, "label": str(task)}


#: Counter name → rule: aggregated task events.
COUNT_RULES: Mapping[str, CountRule] = {names.METRIC_TASK_RUNS: CountRule(CELERY_EVENT, _task_count_params)}


class AAMapping(DefaultMapping):
    """The exporter's default mapping, plus Celery task runs, AA's daily stats and task counts."""

    def __init__(self) -> None:
        super().__init__(metric_rules=STATS_RULES, count_rules=COUNT_RULES)

    def other_span_event(self, span: ReadableSpan, attrs: Mapping[str, Any],
                         kind: SpanKind) -> GAEvent | None:
        """A Celery task run's ``celery_event`` (a CONSUMER span; the default's custom events
        and page views come first, :meth:`DefaultMapping.span_to_event`)."""
        return _celery_event(span, attrs) if kind is _CONSUMER else None
