"""The privacy allowlist: exactly what may leave the process for Google Analytics.

Everything not listed here is dropped before the GA exporter sees a span: attribute values,
events (exception messages, stack traces), links, the status description, the parent span and
resource attributes such as the host name. The lists are data, in one place, so the docs can
render them and a reviewer can check each entry's reason; :func:`reduced_span` is the copy that
keeps only them. :class:`otel_aa._allowlist_processor.AllowlistSpanProcessor` applies it to the GA
pipeline (and, with :envvar:`OTEL_AA_OTLP_ALLOWLIST`, to the other exporters too).

Nothing here scrubs text: the values GA may get are code or members of closed sets by the time
they are recorded (:mod:`otel_aa._closed_sets`, :mod:`otel_aa._titles`), so there is no denylist
to complete. The names are the GA exporter's (:mod:`opentelemetry.exporter.google_analytics.attributes`),
otel-aa's (:mod:`otel_aa.names`) and the SDK's (resource attributes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.exporter.google_analytics import attributes as attr
from opentelemetry.sdk import resources
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, Status, TraceFlags

from otel_aa import names

__all__ = [
    "ALLOWED_METRIC_ATTRIBUTES",
    "ALLOWED_RESOURCE_ATTRIBUTES",
    "ALLOWED_SPAN_ATTRIBUTES",
    "ALLOWED_SPAN_ATTRIBUTE_PREFIXES",
    "ANALYTICS_SPAN_KINDS",
    "filter_attributes",
    "is_analytics_span",
    "reduced_resource",
    "reduced_span",
]

#: Span attributes that may reach GA, each with the reason it identifies nobody.
ALLOWED_SPAN_ATTRIBUTES: frozenset[str] = frozenset(
    {
        # The HTTP method, already reduced by the instrumentation to the standard verbs or
        # "_OTHER" (the original spelling goes to http.request.method_original, not listed).
        attr.HTTP_REQUEST_METHOD,
        attr.HTTP_METHOD,
        # The response status code: a number from a small fixed set.
        attr.HTTP_RESPONSE_STATUS_CODE,
        attr.HTTP_STATUS_CODE,
        # The route template from the URLconf (e.g. "character/<int:character_id>/" or a re_path
        # regex): written by developers, it never holds the request's path values.
        attr.HTTP_ROUTE,
        # Celery's step ("run") and state ("SUCCESS", "FAILURE", ...): fixed vocabularies.
        names.CELERY_ACTION,
        names.CELERY_STATE,
        # The task's dotted name, e.g. "allianceauth.eveonline.tasks.update_character": code.
        names.CELERY_TASK_NAME,
        # Set by otel_aa's Django response hook: the route's view name (code; the HTML title
        # only in the opt-in k-anonymous mode, see otel_aa._titles), one of settings.LANGUAGES'
        # codes, the response media type, and the route template computed from the URLconf
        # (admin pages: the admin's mount point replaced by "<admin>/"; it also takes
        # http.route's place, see reduced_span).
        attr.GA_PAGE_TITLE,
        attr.GA_PAGE_LANGUAGE,
        attr.GA_PAGE_CONTENT_TYPE,
        attr.GA_PAGE_ROUTE,
        # Set by otel_aa's Celery hooks: "Success", "Retry", the name of an exception class that
        # is code or the placeholder "Error" (never its message), and an int64 return value.
        names.GA_TASK_RESULT,
        names.GA_TASK_VALUE,
        # Set by analytics_event(): the custom event's name and which token flag admits it.
        attr.GA_EVENT_NAME,
        attr.GA_EVENT_STREAM,
    }
)

#: Attribute name prefixes that may reach GA.
ALLOWED_SPAN_ATTRIBUTE_PREFIXES: tuple[str, ...] = (
    # analytics_event()'s params: an app sends these on purpose, as AA's analytics API did.
    attr.GA_EVENT_PARAM_PREFIX,
)

#: Resource attributes that may reach GA: the SDK's own name, language and version. Everything
#: else (service.name, host.name, process.*, OTEL_RESOURCE_ATTRIBUTES) may name the site.
ALLOWED_RESOURCE_ATTRIBUTES: frozenset[str] = frozenset(
    {
        resources.TELEMETRY_SDK_NAME,
        resources.TELEMETRY_SDK_LANGUAGE,
        resources.TELEMETRY_SDK_VERSION,
        resources.TELEMETRY_AUTO_VERSION,
    }
)

#: Metric data point attributes that may leave the process with :envvar:`OTEL_AA_OTLP_ALLOWLIST`
#: (an SDK ``View`` keeps only these): the request metrics' method, status and route, and the
#: daily-stats gauges' install kind, app label and AA version (closed sets, code). Dropped:
#: ``server.address`` (the Host header), ``server.port``, ``url.scheme``, ``network.*``, ...
ALLOWED_METRIC_ATTRIBUTES: frozenset[str] = frozenset({
    *attr.METHOD_ATTRIBUTES, *attr.STATUS_ATTRIBUTES, attr.HTTP_ROUTE,
    names.ATTR_INSTALL_KIND, names.ATTR_APP_LABEL, names.ATTR_VERSION,
    # otel_aa._task_counts: code or a placeholder, as in the per-run celery_event.
    *names.TASK_COUNT_ATTRIBUTES,
})

#: Span kinds GA turns into events: Django's SERVER spans (page views) and Celery's CONSUMER
#: spans (task events). Other spans reach GA only when they carry ``ga.event.name``.
ANALYTICS_SPAN_KINDS: frozenset[SpanKind] = frozenset({SpanKind.SERVER, SpanKind.CONSUMER})

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def _allowed(name: str) -> bool:
    return name in ALLOWED_SPAN_ATTRIBUTES or name.startswith(ALLOWED_SPAN_ATTRIBUTE_PREFIXES)


def filter_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a new dict with only the allowlisted attributes of ``attributes``."""
    if not attributes:
        return {}
    return {key: value for key, value in attributes.items() if _allowed(key)}


def is_analytics_span(kind: SpanKind | None, attributes: Mapping[str, Any] | None) -> bool:
    """Whether GA can use a span of this kind with these attributes."""
    return kind in ANALYTICS_SPAN_KINDS or bool(attributes and attributes.get(attr.GA_EVENT_NAME))


def _span_name(kind: SpanKind, attributes: Mapping[str, Any]) -> str:
    # Rebuilt from allowlisted values only: an instrumentation may put a raw path in a name.
    event_name = attributes.get(attr.GA_EVENT_NAME)
    if event_name:
        return str(event_name)
    if kind == SpanKind.CONSUMER:
        task = attributes.get(names.CELERY_TASK_NAME)
        return f"run/{task}" if task else "run"
    method = attributes.get(attr.HTTP_REQUEST_METHOD) or attributes.get(attr.HTTP_METHOD) or "HTTP"
    route = attributes.get(attr.HTTP_ROUTE)
    return f"{method} {route}" if route is not None else str(method)


def reduced_resource(resource: Resource) -> Resource:
    """``resource`` with only :data:`ALLOWED_RESOURCE_ATTRIBUTES`."""
    return Resource({key: value for key, value in resource.attributes.items()
                     if key in ALLOWED_RESOURCE_ATTRIBUTES})


def reduced_span(span: ReadableSpan, resource: Resource) -> ReadableSpan:
    """A new span with only what may leave: the allowlisted attributes, the kind, times and
    status code, a trace-flags-sampled context (so a ``BatchSpanProcessor`` behind accepts a span
    recorded but not sampled, see :mod:`otel_aa._sampling`), no parent, events, links or status
    description, and ``resource`` (already reduced, see :func:`reduced_resource`). The original
    is not changed."""
    context = span.context
    kept = filter_attributes(span.attributes)
    page_route = kept.get(attr.GA_PAGE_ROUTE)
    if isinstance(page_route, str) and attr.HTTP_ROUTE in kept:
        kept[attr.HTTP_ROUTE] = page_route  # the admin's mount point stays home, in the name too
    return ReadableSpan(
        name=_span_name(span.kind, kept),
        context=trace_api.SpanContext(
            trace_id=context.trace_id if context else 0,
            span_id=context.span_id if context else 0,
            is_remote=False,
            trace_flags=_SAMPLED,
        ),
        parent=None,
        resource=resource,
        attributes=kept,
        events=(),
        links=(),
        kind=span.kind,
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )
