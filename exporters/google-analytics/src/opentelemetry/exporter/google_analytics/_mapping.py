"""From OpenTelemetry spans and metrics to GA4 events: the interface the exporters take, and the
generic default.

Both exporters take ``mapping=`` (a :class:`GAMapping`); without one they use
:class:`DefaultMapping`. An app with events of its own extends the default: subclass it and override
:meth:`~DefaultMapping.other_span_event` (spans of other kinds than SERVER, the attributes read
once) or call ``super()`` for what it doesn't handle, and hand its metric and count rules to the
constructor (the ``otel_aa`` distro's ``AAMapping`` adds Celery task events and Alliance Auth's
daily stats that way). This package knows no app's names or rules.

:class:`DefaultMapping` reads only the attributes of :mod:`.attributes`, in the shapes described
there: the real host, path values, query strings and everything else on a span are never looked
at.

- any span with ``ga.event.name``: that custom event, its params from ``ga.event.param.*``;
- a SERVER span of an HTTP GET answered 2xx with ``text/html`` whose route resolved:
  ``page_view``, at :data:`PLACEHOLDER_ORIGIN` plus the route template. The template is
  ``ga.page.route`` (set by the instrumenting side, which knows its framework's routes), else
  ``http.route`` as the instrumentation recorded it; neither is parsed;
- metrics: each :class:`MetricRule` (by metric name) turns a gauge's or a sum's points into
  events the metric exporter sends at most once per stats interval (its send lease decides); each
  :class:`~.counts.CountRule` turns a DELTA counter's points into counts
  (``GAEvent.aggregate``), sent every interval to the tokens that take counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from opentelemetry.exporter.google_analytics import attributes as attr
from opentelemetry.exporter.google_analytics._counts import CountRule, counts_to_events
from opentelemetry.exporter.google_analytics._events import STREAMS, GAEvent, ParamValue, Stream
from opentelemetry.exporter.google_analytics._mapping_common import (
    SESSION_WINDOW_SECONDS,
    first,
    int64_or_one,
    is_code_name,
    named_metrics,
    point_event,
    session_id,
    span_event,
)
from opentelemetry.exporter.google_analytics.attributes import (
    GA_EVENT_NAME,
    GA_EVENT_STREAM,
    GA_PAGE_CONTENT_TYPE,
    GA_PAGE_LANGUAGE,
    GA_PAGE_ROUTE,
    GA_PAGE_TITLE,
    HTTP_RESPONSE_HEADER_CONTENT_TYPE,
    HTTP_ROUTE,
)
from opentelemetry.sdk.metrics.export import Gauge, MetricsData, NumberDataPoint, Sum
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

__all__ = [
    "PLACEHOLDER_ORIGIN",
    "SESSION_WINDOW_SECONDS",
    "DefaultMapping",
    "GAMapping",
    "MetricRule",
    "first",
    "int64_or_one",
    "is_code_name",
    "page_route",
    "point_event",
    "session_id",
    "span_event",
]

#: Stands in for the site's host in ``page_location``: the real host name is never sent.
PLACEHOLDER_ORIGIN = "https://site.invalid"
PAGE_VIEW = "page_view"
_NO_ATTRIBUTES: Mapping[str, Any] = {}


@runtime_checkable
class GAMapping(Protocol):
    """What the exporters ask of a mapping. Called on the export threads; an exception costs the
    span it was raised for (counted), or that metric export."""

    #: Whether :meth:`metrics_to_events` can give counts (events with ``aggregate=True``): only
    #: then does the GA metric reader collect every interval while a token takes counts.
    maps_counts: bool

    def span_to_event(self, span: ReadableSpan) -> GAEvent | None:
        """The GA event a finished span stands for, or ``None``."""

    def metrics_to_events(self, metrics_data: MetricsData) -> list[GAEvent]:
        """The GA events of one collection: counts (``aggregate=True``), sent every interval,
        and the others, sent when the send lease is granted."""


@dataclass(frozen=True)
class MetricRule:
    """How one gauge's (or sum's) points become GA events, sent at most once per stats interval.

    ``params`` gives, for a point, the params of each event it stands for (code, members of a
    closed set or counts; none: no event); ``stream`` is the token flag that admits them.
    """

    event_name: str
    params: Callable[[NumberDataPoint], Iterable[Mapping[str, ParamValue]]]
    stream: Stream = "daily_stats"


def page_route(attrs: Mapping[str, Any]) -> str | None:
    """The route template a page's span holds, with a leading ``/``: ``ga.page.route``, else
    ``http.route`` (the root route ``""`` is ``/``); ``None`` if the route didn't resolve."""
    route = attrs.get(attr.GA_PAGE_ROUTE)
    if not isinstance(route, str):
        route = attrs.get(attr.HTTP_ROUTE)
        if not isinstance(route, str):
            return None
    return route if route.startswith("/") else "/" + route


def _media_type(value: Any) -> str | None:
    if isinstance(value, (list, tuple)):  # a captured header is a sequence of strings
        value = value[0] if value else None
    if not isinstance(value, str):
        return None
    return value.split(";", 1)[0].strip().lower()


# What follows runs once per span on the export thread, where one span's mapping was most of
# the export's own cost (issue 13): names bound once, each check with its common case first, and
# what the same few routes and attribute names give kept in bounded tables (past the bound,
# computed each time). The outcome is that of page_route(), _media_type() and first(), case by
# case.
_GET, _HTML = "GET", "text/html"
_METHOD, _OLD_METHOD = attr.METHOD_ATTRIBUTES
_STATUS, _OLD_STATUS = attr.STATUS_ATTRIBUTES
_SERVER = SpanKind.SERVER
_PARAM_PREFIX = attr.GA_EVENT_PARAM_PREFIX
_MAX_TABLE = 1024
#: Route as recorded -> (template with its leading "/", page_location).
_LOCATIONS: dict[str, tuple[str, str]] = {}
#: Attribute name -> its custom event param name, or None: not a ``ga.event.param.*`` name.
_PARAM_NAMES: dict[str, str | None] = {}
_UNKNOWN = "\0unknown"


def _location(route: str) -> tuple[str, str]:
    template = route if route.startswith("/") else "/" + route
    found = (template, PLACEHOLDER_ORIGIN + template)
    if len(_LOCATIONS) < _MAX_TABLE:
        _LOCATIONS[route] = found
    return found


def _param_name(key: str) -> str | None:
    name = key[len(_PARAM_PREFIX):] if key.startswith(_PARAM_PREFIX) else None
    if len(_PARAM_NAMES) < _MAX_TABLE:
        _PARAM_NAMES[key] = name
    return name


def _page_view(span: ReadableSpan, attrs: Mapping[str, Any]) -> GAEvent | None:
    method = attrs.get(_METHOD)
    if method is None:
        method = attrs.get(_OLD_METHOD)
    if method != _GET and not (isinstance(method, str) and method.upper() == _GET):
        return None
    status = attrs.get(_STATUS)
    if status is None:
        status = attrs.get(_OLD_STATUS)
    if type(status) is not int:
        try:
            status = int(status)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
    if not 200 <= status < 300:
        return None
    content_type = attrs.get(GA_PAGE_CONTENT_TYPE)
    if content_type is None:
        content_type = attrs.get(HTTP_RESPONSE_HEADER_CONTENT_TYPE)
    if content_type != _HTML and _media_type(content_type) != _HTML:
        return None
    route = attrs.get(GA_PAGE_ROUTE)
    if not isinstance(route, str):
        route = attrs.get(HTTP_ROUTE)
        if not isinstance(route, str):
            return None
    template, location = _LOCATIONS.get(route) or _location(route)
    params: dict[str, ParamValue] = {"page_location": location}
    # Whatever the instrumenting side put there; the otel_aa distro puts the route's view name
    # (e.g. "authentication:dashboard"): one row per page in GA, in every language.
    title = attrs.get(GA_PAGE_TITLE)
    if isinstance(title, str) and title:
        params["page_title"] = title
    language = attrs.get(GA_PAGE_LANGUAGE)
    if isinstance(language, str) and language:
        params["language"] = language
    return span_event(span, PAGE_VIEW, params, "page_views", template)


def _custom_event(span: ReadableSpan, attrs: Mapping[str, Any], name: Any) -> GAEvent | None:
    if not isinstance(name, str):
        return None
    stream = attrs.get(GA_EVENT_STREAM)
    if stream not in STREAMS:
        stream = "celery_events"
    params: dict[str, ParamValue] = {}
    names = _PARAM_NAMES
    for key, value in attrs.items():
        param = names.get(key, _UNKNOWN)
        if param is _UNKNOWN:
            param = _param_name(key)
        if param is not None:
            params[param] = value  # limits.sanitize_event checks names and values
    route = attrs.get(GA_PAGE_ROUTE)
    if not isinstance(route, str):
        route = attrs.get(HTTP_ROUTE)
    template = (_LOCATIONS.get(route) or _location(route))[0] if isinstance(route, str) else None
    return span_event(span, name, params, stream, template)  # type: ignore[arg-type]


def _points(metrics_data: MetricsData,
            rules: Mapping[str, MetricRule]) -> Iterator[tuple[MetricRule, NumberDataPoint]]:
    for rule, metric in named_metrics(metrics_data, rules):
        if isinstance(metric.data, (Gauge, Sum)):
            for point in metric.data.data_points:
                if isinstance(point, NumberDataPoint):
                    yield rule, point


class DefaultMapping:
    """The generic mapping: custom ``ga.event.*`` spans, page views, and the metrics the rules
    name (none by default: ``metric_rules`` maps a metric name to a :class:`MetricRule`,
    ``count_rules`` a counter's name to a :class:`~.counts.CountRule`)."""

    def __init__(self, metric_rules: Mapping[str, MetricRule] | None = None,
                 count_rules: Mapping[str, CountRule] | None = None) -> None:
        self.metric_rules: Mapping[str, MetricRule] = dict(metric_rules or {})
        self.count_rules: Mapping[str, CountRule] = dict(count_rules or {})
        self.maps_counts = bool(self.count_rules)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(metric_rules={sorted(self.metric_rules)}, "
                f"count_rules={sorted(self.count_rules)})")

    def span_to_event(self, span: ReadableSpan) -> GAEvent | None:
        """A custom event (any span with ``ga.event.name``), a ``page_view`` (SERVER span), or
        what :meth:`other_span_event` makes of any other span."""
        # Each of span.attributes and span.kind is a property call: read once here, and handed on
        # to what a subclass adds. The SDK's attributes are a read-only proxy whose every lookup
        # calls the mapping beneath by name (a BoundedAttributes' is Python code): one copy, then
        # plain dict lookups, costs a third of the seven a page view takes (issue 13).
        attrs = span.attributes
        if type(attrs) is MappingProxyType:
            # Not contextlib.suppress: a context manager per span costs more than the copy saves.
            try:  # noqa: SIM105
                attrs = attrs.copy()
            except AttributeError:  # beneath it, a mapping without copy(): read as it is
                pass
        elif not attrs:
            attrs = _NO_ATTRIBUTES
        name = attrs.get(GA_EVENT_NAME)
        if name is not None:
            return _custom_event(span, attrs, name)
        kind = span.kind
        if kind is _SERVER:
            return _page_view(span, attrs)
        return self.other_span_event(span, attrs, kind)

    def other_span_event(self, span: ReadableSpan, attrs: Mapping[str, Any],
                         kind: SpanKind) -> GAEvent | None:
        """The event of a span that is neither a custom event nor a SERVER span (``attrs``: its
        attributes, ``kind``: its kind, as :meth:`span_to_event` read them): ``None`` here; a
        subclass overrides it for spans of its own (the otel_aa distro's Celery task runs)."""
        return None

    def metrics_to_events(self, metrics_data: MetricsData) -> list[GAEvent]:
        """The events of :attr:`metric_rules`, then the counts of :attr:`count_rules`."""
        events: list[GAEvent] = []
        for rule, point in _points(metrics_data, self.metric_rules):
            for params in rule.params(point):
                events.append(point_event(point, rule.event_name, dict(params), rule.stream))
        events.extend(counts_to_events(metrics_data, self.count_rules))
        return events
