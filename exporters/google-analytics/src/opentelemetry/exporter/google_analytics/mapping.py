"""From OpenTelemetry spans and metrics to GA4 events.

Only what is listed here is read, and only in the shapes described: the real host, path values,
query strings, exception messages and task arguments are never looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from opentelemetry.exporter.google_analytics import attributes as attr
from opentelemetry.exporter.google_analytics.events import STREAMS, GAEvent, ParamValue, Stream
from opentelemetry.exporter.google_analytics.routes import route_template
from opentelemetry.sdk.metrics.export import Gauge, MetricsData, NumberDataPoint, Sum
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

__all__ = [
    "PLACEHOLDER_ORIGIN",
    "RESULT_PLACEHOLDER",
    "SESSION_WINDOW_SECONDS",
    "TASK_PLACEHOLDER",
    "int64_or_one",
    "is_code_name",
    "metrics_to_events",
    "route_template",
    "session_id",
    "span_to_event",
    "split_task_name",
]

#: Stands in for the site's host in ``page_location``: the real host name is never sent.
PLACEHOLDER_ORIGIN = "https://site.invalid"
#: Length of a GA session as we number them (GA's own default session timeout).
SESSION_WINDOW_SECONDS = 1800
#: Upper bound for ``engagement_time_msec``: one span is not an hour of reading.
MAX_ENGAGEMENT_MSEC = 60_000

#: Sent as ``result`` for an exception that isn't named by a class name.
RESULT_PLACEHOLDER = "Error"
#: Sent as ``namespace`` and ``task`` for a task name that isn't a dotted path of identifiers.
TASK_PLACEHOLDER = "other"

PAGE_VIEW = "page_view"
CELERY_EVENT = "celery_event"
STATS_NAMESPACE = "allianceauth.analytics"
INSTALL_STATS_TASK = "send_install_stats"
EXTENSION_STATS_TASK = "send_extension_stats"


@lru_cache(maxsize=64)
def _window_start(window: int) -> str:
    return str(window * SESSION_WINDOW_SECONDS)


def session_id(timestamp_micros: int) -> str:
    """GA ``session_id`` for an event: the start of its 30-minute window, in epoch seconds.

    GA keys sessions by ``client_id`` and ``session_id``, so this numbers each client's sessions
    without being derived from anything about a user.
    """
    return _window_start(timestamp_micros // 1_000_000 // SESSION_WINDOW_SECONDS)


# --- spans ---------------------------------------------------------------------------------------


def _first(attrs: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = attrs.get(name)
        if value is not None:
            return value
    return None


def _media_type(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if not isinstance(value, str):
        return None
    return value.split(";", 1)[0].strip().lower()


def _timestamp_micros(span: ReadableSpan) -> int:
    nanos = span.end_time or span.start_time or 0
    return nanos // 1000


def _engagement_msec(span: ReadableSpan) -> int:
    start, end = span.start_time, span.end_time
    if start and end and end > start:
        return max(1, min(MAX_ENGAGEMENT_MSEC, (end - start) // 1_000_000))
    return 1


def _realtime(params: dict[str, ParamValue], span: ReadableSpan, timestamp: int) -> None:
    # Without these two GA leaves hits out of the Realtime report.
    if "engagement_time_msec" not in params:
        params["engagement_time_msec"] = _engagement_msec(span)
    if "session_id" not in params:
        params["session_id"] = session_id(timestamp)


def _page_view(span: ReadableSpan, attrs: Mapping[str, Any], method: Any) -> GAEvent | None:
    if not isinstance(method, str) or method.upper() != "GET":
        return None
    status = _first(attrs, attr.STATUS_ATTRIBUTES)
    try:
        if not 200 <= int(status) < 300:
            return None
    except (TypeError, ValueError):
        return None
    content_type = attrs.get(attr.GA_PAGE_CONTENT_TYPE)
    if content_type is None:
        content_type = attrs.get(attr.HTTP_RESPONSE_HEADER_CONTENT_TYPE)
    if _media_type(content_type) != "text/html":
        return None
    route = attrs.get(attr.HTTP_ROUTE)
    if not isinstance(route, str):
        return None
    template = route_template(route)
    timestamp = _timestamp_micros(span)
    params: dict[str, ParamValue] = {"page_location": PLACEHOLDER_ORIGIN + template}
    # Whatever the instrumenting side put there; the otel_aa distro puts the route's view name
    # (e.g. "authentication:dashboard"): one row per page in GA, in every language.
    title = attrs.get(attr.GA_PAGE_TITLE)
    if isinstance(title, str) and title:
        params["page_title"] = title
    language = attrs.get(attr.GA_PAGE_LANGUAGE)
    if isinstance(language, str) and language:
        params["language"] = language
    _realtime(params, span, timestamp)
    return GAEvent(PAGE_VIEW, params, timestamp, "page_views", template)


def split_task_name(task_name: str) -> tuple[str, str]:
    """Split a task name into namespace and task.

    ``allianceauth.eveonline.tasks.update_character`` → ``("allianceauth.eveonline",
    "update_character")``: the module path minus a trailing ``.tasks``, and the function name.
    """
    module, _, task = task_name.rpartition(".")
    if module.endswith(".tasks"):
        module = module[: -len(".tasks")]
    return module, task


def _exception_class(span: ReadableSpan) -> str:
    for event in span.events or ():
        if event.name == attr.EXCEPTION_EVENT and event.attributes:
            exc_type = event.attributes.get(attr.EXCEPTION_TYPE)
            if isinstance(exc_type, str) and exc_type:
                # The class-name part only; the message is never read.
                return _code_or(exc_type.rsplit(".", 1)[-1], RESULT_PLACEHOLDER)
    return RESULT_PLACEHOLDER


def is_code_name(name: object) -> bool:
    """Whether ``name`` is a dotted path of ASCII Python identifiers (``pkg.mod.func``), as a
    class or a function in a module is named; a longer one than 200 characters is not."""
    return isinstance(name, str) and 0 < len(name) <= 200 and name.isascii() and \
        all(part.isidentifier() for part in name.split("."))


def _code_or(name: object, placeholder: str) -> str:
    return name if isinstance(name, str) and is_code_name(name) else placeholder


def int64_or_one(value: object) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) within int64 (what OTLP and GA carry), else 1."""
    if not isinstance(value, int) or isinstance(value, bool):
        return 1
    plain = int.__index__(value)  # an int subclass's own __int__ or comparisons are not asked
    return plain if -(2**63) <= plain < 2**63 else 1


def _celery_event(span: ReadableSpan, attrs: Mapping[str, Any]) -> GAEvent | None:
    action = attrs.get(attr.CELERY_ACTION)
    if action != "run" and not (action is None and span.name.startswith("run/")):
        return None
    result = attrs.get(attr.GA_TASK_RESULT)
    state = attrs.get(attr.CELERY_STATE)
    if result == "Retry" or (isinstance(state, str) and state.upper() == "RETRY"):
        return None  # a retry is not a failure; the final run sends the event
    task_name = attrs.get(attr.CELERY_TASK_NAME)
    if not isinstance(task_name, str) or not task_name:
        task_name = span.name[len("run/"):] if span.name.startswith("run/") else ""
    if not task_name:
        return None
    # Code or a placeholder, whoever set the attributes: a task name that isn't a dotted path
    # of identifiers, a result that isn't a class name, an int beyond int64.
    namespace, task = split_task_name(task_name) if is_code_name(task_name) else \
        (TASK_PLACEHOLDER, TASK_PLACEHOLDER)
    if not isinstance(result, str) or not result:
        failed = span.status is not None and span.status.status_code is StatusCode.ERROR
        result = _exception_class(span) if failed else "Success"
    result = _code_or(result, RESULT_PLACEHOLDER)
    value = int64_or_one(attrs.get(attr.GA_TASK_VALUE))
    timestamp = _timestamp_micros(span)
    params: dict[str, ParamValue] = {
        "namespace": namespace,
        "task": task,
        "result": result,
        "label": task,
        "value": value,
    }
    _realtime(params, span, timestamp)
    # One run's event: a token that takes task counts instead (aggregate_celery_events) skips it.
    return GAEvent(CELERY_EVENT, params, timestamp, "celery_events", aggregate=False)


def _custom_event(span: ReadableSpan, attrs: Mapping[str, Any], name: Any) -> GAEvent | None:
    if not isinstance(name, str):
        return None
    stream = attrs.get(attr.GA_EVENT_STREAM)
    if stream not in STREAMS:
        stream = "celery_events"
    prefix = attr.GA_EVENT_PARAM_PREFIX
    params: dict[str, ParamValue] = {}
    for key, value in attrs.items():
        if key.startswith(prefix):
            params[key[len(prefix):]] = value  # limits.sanitize_event checks names and values
    timestamp = _timestamp_micros(span)
    _realtime(params, span, timestamp)
    route = attrs.get(attr.HTTP_ROUTE)
    return GAEvent(name, params, timestamp, stream,  # type: ignore[arg-type]
                   route_template(route) if isinstance(route, str) else None)


def span_to_event(span: ReadableSpan) -> GAEvent | None:
    """Return the GA event a finished span stands for, or ``None``.

    - any span with ``ga.event.name``: that custom event;
    - a SERVER span of an HTTP GET answered 2xx with ``text/html`` whose route resolved:
      ``page_view``;
    - a CONSUMER span of a Celery task run: ``celery_event`` (none for a retry).
    """
    attrs = span.attributes or {}
    name = attrs.get(attr.GA_EVENT_NAME)
    if name is not None:
        return _custom_event(span, attrs, name)
    if span.kind is SpanKind.SERVER:
        method = _first(attrs, attr.METHOD_ATTRIBUTES)
        return None if method is None else _page_view(span, attrs, method)
    if span.kind is SpanKind.CONSUMER:
        return _celery_event(span, attrs)
    return None


# --- metrics -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _StatsRule:
    """How one daily-stats gauge becomes ``celery_event``s: (task, label, value) per data point."""

    task: str
    events: Callable[[NumberDataPoint], list[tuple[str, int]]]


def _count(label: str) -> Callable[[NumberDataPoint], list[tuple[str, int]]]:
    return lambda point: [(label, int(point.value))]


def _existence(point: NumberDataPoint) -> list[tuple[str, int]]:
    found = [("existence", int(point.value))]
    kind = (point.attributes or {}).get(attr.ATTR_INSTALL_KIND)
    if kind in attr.INSTALL_KINDS:
        found.append((f"existence_{kind}", int(point.value)))
    return found


def _extension(point: NumberDataPoint) -> list[tuple[str, int]]:
    label = (point.attributes or {}).get(attr.ATTR_APP_LABEL)
    return [(label, 1)] if isinstance(label, str) and label and point.value else []


#: Metric name → rule. ``aa.version`` makes no event: the version is a user property.
STATS_RULES: Mapping[str, _StatsRule] = {
    attr.METRIC_INSTALL_EXISTENCE: _StatsRule(INSTALL_STATS_TASK, _existence),
    attr.METRIC_USERS: _StatsRule(INSTALL_STATS_TASK, _count("users")),
    attr.METRIC_ESI_TOKENS: _StatsRule(INSTALL_STATS_TASK, _count("tokens")),
    attr.METRIC_APPS: _StatsRule(INSTALL_STATS_TASK, _count("addons")),
    attr.METRIC_APP_INSTALLED: _StatsRule(EXTENSION_STATS_TASK, _extension),
}


def _points(metrics_data: MetricsData) -> Iterator[tuple[str, NumberDataPoint]]:
    for resource_metrics in metrics_data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name in STATS_RULES and isinstance(metric.data, (Gauge, Sum)):
                    for point in metric.data.data_points:
                        if isinstance(point, NumberDataPoint):
                            yield metric.name, point


def metrics_to_events(metrics_data: MetricsData) -> list[GAEvent]:
    """Return the daily-stats ``celery_event``s for the gauges in ``metrics_data``.

    Table-driven: see :data:`STATS_RULES`.
    """
    events: list[GAEvent] = []
    stream: Stream = "daily_stats"
    for metric_name, point in _points(metrics_data):
        rule = STATS_RULES[metric_name]
        timestamp = point.time_unix_nano // 1000
        for label, value in rule.events(point):
            params: dict[str, ParamValue] = {
                "namespace": STATS_NAMESPACE,
                "task": rule.task,
                "result": "Success",
                "label": label,
                "value": value,
                "engagement_time_msec": 1,
                "session_id": session_id(timestamp),
            }
            events.append(GAEvent(CELERY_EVENT, params, timestamp, stream))
    return events
