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
from opentelemetry.sdk.metrics.export import Gauge, MetricsData, NumberDataPoint, Sum
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

__all__ = [
    "PLACEHOLDER_ORIGIN",
    "SESSION_WINDOW_SECONDS",
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


# --- route templates -----------------------------------------------------------------------------

_QUANTIFIERS = "*+?"


def _skip_quantifier(route: str, i: int) -> int:
    if i < len(route) and route[i] in _QUANTIFIERS:
        i += 1
        if i < len(route) and route[i] == "?":  # lazy
            i += 1
    elif i < len(route) and route[i] == "{":
        end = route.find("}", i)
        if end != -1:
            i = end + 1
    return i


def _group_end(route: str, i: int) -> int:
    """Index just past the group opening at ``route[i] == '('``."""
    depth = 0
    in_class = False
    while i < len(route):
        char = route[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(route)


def _class_end(route: str, i: int) -> int:
    i += 1
    if i < len(route) and route[i] == "^":
        i += 1
    if i < len(route) and route[i] == "]":
        i += 1
    while i < len(route) and route[i] != "]":
        i += 2 if route[i] == "\\" else 1
    return i + 1


def _regex_template(route: str) -> str:
    out: list[str] = []
    i = 0
    n = len(route)
    while i < n:
        char = route[i]
        if char == "(":
            end = _group_end(route, i)
            body = route[i + 1 : end - 1]
            if body.startswith(("?=", "?!", "?<=", "?<!")):
                pass  # lookarounds match no text
            elif body.startswith("?P<") and ">" in body:
                out.append(f"<{body[3:body.index('>')]}>")
            else:
                out.append("<var>")
            i = _skip_quantifier(route, end)
        elif char == "[":
            out.append("<var>")
            i = _skip_quantifier(route, _class_end(route, i))
        elif char == "\\" and i + 1 < n:
            nxt = route[i + 1]
            if nxt in "dDwWsS":
                out.append("<var>")
                i = _skip_quantifier(route, i + 2)
            elif nxt in "AZbB":
                i += 2
            else:
                out.append(nxt)
                i = _skip_quantifier(route, i + 2)
        elif char == ".":
            out.append("<var>")
            i = _skip_quantifier(route, i + 1)
        elif char in "^$":
            i += 1
        elif char in _QUANTIFIERS or char == "{":
            i = _skip_quantifier(route, i)
        else:
            out.append(char)
            i += 1
    text = "".join(out)
    while "<var><var>" in text:
        text = text.replace("<var><var>", "<var>")
    return text


def _is_regex(route: str) -> bool:
    return route.startswith("^") or route.endswith("$") or "(?" in route or "\\" in route \
        or route.endswith("\\Z")


@lru_cache(maxsize=1024)
def route_template(route: str) -> str:
    """Return the page path GA sees for a Django route: a template, never real path values.

    ``path()`` routes are kept as they are (``character/<int:character_id>/`` →
    ``/character/<int:character_id>/``); ``re_path()`` regexes become templates
    (``^character/(?P<character_id>[0-9]+)/$`` → ``/character/<character_id>/``, unnamed groups
    and character classes → ``<var>``); the root route ``""`` is ``/``.
    """
    text = _regex_template(route) if _is_regex(route) else route
    return text if text.startswith("/") else "/" + text


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
                return exc_type.rsplit(".", 1)[-1]
    return "Error"


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
    namespace, task = split_task_name(task_name)
    if not isinstance(result, str) or not result:
        failed = span.status is not None and span.status.status_code is StatusCode.ERROR
        result = _exception_class(span) if failed else "Success"
    value = attrs.get(attr.GA_TASK_VALUE)
    if not isinstance(value, int) or isinstance(value, bool):
        value = 1
    timestamp = _timestamp_micros(span)
    params: dict[str, ParamValue] = {
        "namespace": namespace,
        "task": task,
        "result": result,
        "label": task,
        "value": value,
    }
    _realtime(params, span, timestamp)
    return GAEvent(CELERY_EVENT, params, timestamp, "celery_events")


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
