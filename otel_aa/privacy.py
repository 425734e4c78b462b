"""The privacy allowlist: exactly what may leave the process for Google Analytics.

Everything not listed here is dropped before the GA exporter sees a span: attribute values,
events (exception messages, stack traces), links, the status description, the parent span and
resource attributes such as the host name. The lists are data, in one place, so the docs can
render them and a reviewer can check each entry's reason. :class:`AllowlistSpanProcessor` applies
them to the GA pipeline (and, with :envvar:`OTEL_AA_OTLP_ALLOWLIST`, to the other exporters too).

Nothing here scrubs text: the values GA may get are code or members of closed sets by the time
they are recorded (:mod:`otel_aa.closed_sets`, :mod:`otel_aa.titles`), so there is no denylist
to complete.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence, Sized
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import SpanKind, Status, TraceFlags

from otel_aa._guard import guarded

__all__ = [
    "ALLOWED_METRIC_ATTRIBUTES",
    "ALLOWED_RESOURCE_ATTRIBUTES",
    "ALLOWED_SPAN_ATTRIBUTES",
    "ALLOWED_SPAN_ATTRIBUTE_PREFIXES",
    "ANALYTICS_SPAN_KINDS",
    "AllowlistSpanProcessor",
    "filter_attributes",
    "is_analytics_span",
]

_logger = logging.getLogger(__name__)

#: Span attributes that may reach GA, each with the reason it identifies nobody.
ALLOWED_SPAN_ATTRIBUTES: frozenset[str] = frozenset(
    {
        # The HTTP method, already reduced by the instrumentation to the standard verbs or
        # "_OTHER" (the original spelling goes to http.request.method_original, not listed).
        "http.request.method",
        "http.method",
        # The response status code: a number from a small fixed set.
        "http.response.status_code",
        "http.status_code",
        # The route template from the URLconf (e.g. "character/<int:character_id>/" or a re_path
        # regex): written by developers, it never holds the request's path values.
        "http.route",
        # Celery's step ("run") and state ("SUCCESS", "FAILURE", ...): fixed vocabularies.
        "celery.action",
        "celery.state",
        # The task's dotted name, e.g. "allianceauth.eveonline.tasks.update_character": code.
        "celery.task_name",
        # Set by otel_aa's Django response hook: the route's view name (code; the HTML title
        # only in the opt-in k-anonymous mode, see otel_aa.titles), one of settings.LANGUAGES'
        # codes, the response media type, and for admin pages the route with the admin's
        # mount point replaced by "<admin>/" (it takes http.route's place, see _reduce).
        "ga.page.title",
        "ga.page.language",
        "ga.page.content_type",
        "ga.page.route",
        # Set by otel_aa's Celery hooks: "Success", "Retry", the name of an exception class that
        # is code or the placeholder "Error" (never its message), and an int64 return value.
        "ga.task.result",
        "ga.task.value",
        # Set by analytics_event(): the custom event's name and which token flag admits it.
        "ga.event.name",
        "ga.event.stream",
    }
)

#: Attribute name prefixes that may reach GA.
ALLOWED_SPAN_ATTRIBUTE_PREFIXES: tuple[str, ...] = (
    # analytics_event()'s params: an app sends these on purpose, as AA's analytics API did.
    "ga.event.param.",
)

#: Resource attributes that may reach GA: the SDK's own name, language and version. Everything
#: else (service.name, host.name, process.*, OTEL_RESOURCE_ATTRIBUTES) may name the site.
ALLOWED_RESOURCE_ATTRIBUTES: frozenset[str] = frozenset(
    {
        "telemetry.sdk.name",
        "telemetry.sdk.language",
        "telemetry.sdk.version",
        "telemetry.auto.version",
    }
)

#: Metric data point attributes that may leave the process with :envvar:`OTEL_AA_OTLP_ALLOWLIST`
#: (an SDK ``View`` keeps only these): the request metrics' method, status and route, and the
#: daily-stats gauges' install kind, app label and AA version (closed sets, code). Dropped:
#: ``server.address`` (the Host header), ``server.port``, ``url.scheme``, ``network.*``, ...
ALLOWED_METRIC_ATTRIBUTES: frozenset[str] = frozenset({
    "http.request.method", "http.method", "http.response.status_code", "http.status_code", "http.route",
    "aa.install.kind", "aa.app.label", "aa.version",
    # otel_aa.task_counts: code or a placeholder, as in the per-run celery_event.
    "aa.task.namespace", "aa.task.name", "aa.task.result",
})

#: Span kinds GA turns into events: Django's SERVER spans (page views) and Celery's CONSUMER
#: spans (task events). Other spans reach GA only when they carry ``ga.event.name``.
ANALYTICS_SPAN_KINDS: frozenset[SpanKind] = frozenset({SpanKind.SERVER, SpanKind.CONSUMER})

_EVENT_NAME = "ga.event.name"
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_DROP_LOG_INTERVAL = 60.0


def _allowed(name: str) -> bool:
    return name in ALLOWED_SPAN_ATTRIBUTES or name.startswith(ALLOWED_SPAN_ATTRIBUTE_PREFIXES)


def filter_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a new dict with only the allowlisted attributes of ``attributes``."""
    if not attributes:
        return {}
    return {key: value for key, value in attributes.items() if _allowed(key)}


def is_analytics_span(kind: SpanKind | None, attributes: Mapping[str, Any] | None) -> bool:
    """Whether GA can use a span of this kind with these attributes."""
    return kind in ANALYTICS_SPAN_KINDS or bool(attributes and attributes.get(_EVENT_NAME))


def _span_name(kind: SpanKind, attributes: Mapping[str, Any]) -> str:
    # Rebuilt from allowlisted values only: an instrumentation may put a raw path in a name.
    event_name = attributes.get(_EVENT_NAME)
    if event_name:
        return str(event_name)
    if kind == SpanKind.CONSUMER:
        task = attributes.get("celery.task_name")
        return f"run/{task}" if task else "run"
    method = attributes.get("http.request.method") or attributes.get("http.method") or "HTTP"
    route = attributes.get("http.route")
    return f"{method} {route}" if route is not None else str(method)


class AllowlistSpanProcessor(SpanProcessor):
    """Pass a reduced copy of each finished span to ``processor``, keeping only what's allowed.

    The copy is a new :class:`~opentelemetry.sdk.trace.ReadableSpan` (the original, which other
    processors see, is not changed) with the allowlisted attributes, the span kind, times and
    status code, a trace-flags-sampled context (so a ``BatchSpanProcessor`` behind it accepts a
    span recorded but not sampled, see :mod:`otel_aa.sampling`), no parent, events, links or
    status description, and the resource reduced to :data:`ALLOWED_RESOURCE_ATTRIBUTES`.

    With ``analytics_only`` (the default, for GA) spans GA can't use are not passed on at all,
    which keeps the inner queue small. For another exporter (``analytics_only=False``) every
    sampled span is reduced and passed on; unsampled ones are skipped, as a plain
    ``BatchSpanProcessor`` would.
    """

    def __init__(self, processor: SpanProcessor, *, analytics_only: bool = True) -> None:
        self._processor = processor
        self._analytics_only = analytics_only
        self._exporter: SpanExporter | None = None
        self._batcher: Any = None
        #: Spans dropped because the batch queue was full.
        self.dropped = 0
        self._next_drop_log = 0.0
        self._resources: dict[int, tuple[Resource, Resource]] = {}

    @property
    def processor(self) -> SpanProcessor:
        """The processor the reduced spans go to."""
        return self._processor

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Spans are reduced when they end; nothing to do here."""

    @classmethod
    def batching(
        cls, exporter: SpanExporter, *, analytics_only: bool = True, **batch_kwargs: Any
    ) -> AllowlistSpanProcessor:
        """The allowlist in front of a ``BatchSpanProcessor`` for ``exporter``, reducing off-thread.

        Same result as ``AllowlistSpanProcessor(BatchSpanProcessor(exporter))``, but a sampled
        span is queued as it is and reduced on the export thread, just before ``exporter`` sees
        it, so the request or task thread doesn't pay for the copy. The pairing is made here, so
        no span can reach ``exporter`` unreduced. ``batch_kwargs`` go to the batch processor.
        """
        self = cls.__new__(cls)
        reducing = _AllowlistSpanExporter(exporter, self._reduce, gated=analytics_only)
        batch = BatchSpanProcessor(reducing, **batch_kwargs)
        cls.__init__(self, batch, analytics_only=analytics_only)
        self._exporter = exporter
        # The SDK's queue, read to drop cheaply while it is full (GA down for long): the SDK
        # would build a "Queue full" log record for every span it drops, on the request thread.
        # SDK internals, so looked up defensively; without them the SDK's own path is taken.
        batcher = getattr(batch, "_batch_processor", None)
        if isinstance(getattr(batcher, "_queue", None), Sized) and isinstance(
            getattr(batcher, "_max_queue_size", None), int
        ):
            self._batcher = batcher
        return self

    @property
    def exporter(self) -> SpanExporter | None:
        """The exporter behind a :meth:`batching` processor, else None."""
        return self._exporter

    @guarded("privacy allowlist")
    def on_end(self, span: ReadableSpan) -> None:
        """Hand ``span``, reduced, to the inner processor (or queue it to be reduced at export)."""
        context = span.context
        if context is None:
            return
        if self._analytics_only:
            if not is_analytics_span(span.kind, span.attributes):
                return
        elif not context.trace_flags.sampled:
            return
        batcher = self._batcher
        if batcher is not None and len(batcher._queue) >= batcher._max_queue_size:
            self._drop_while_full()
            return
        # A batching() processor's exporter reduces the span itself, on the export thread.
        if self._exporter is not None and context.trace_flags.sampled:
            self._processor.on_end(span)
            return
        self._processor.on_end(self._reduce(span))

    def _drop_while_full(self) -> None:
        self.dropped += 1
        now = time.monotonic()
        if now >= self._next_drop_log:
            self._next_drop_log = now + _DROP_LOG_INTERVAL
            _logger.warning("otel-aa: the analytics span queue is full (the exporter can't keep up or "
                            "its destination is down); %d span(s) dropped so far", self.dropped)

    def _reduce(self, span: ReadableSpan) -> ReadableSpan:
        context = span.context
        kept = filter_attributes(span.attributes)
        admin_route = kept.pop("ga.page.route", None)
        if isinstance(admin_route, str) and "http.route" in kept:
            kept["http.route"] = admin_route  # the admin's mount point stays home
        return ReadableSpan(
            name=_span_name(span.kind, kept),
            context=trace_api.SpanContext(
                trace_id=context.trace_id if context else 0,
                span_id=context.span_id if context else 0,
                is_remote=False,
                trace_flags=_SAMPLED,
            ),
            parent=None,
            resource=self._reduced_resource(span.resource),
            attributes=kept,
            events=(),
            links=(),
            kind=span.kind,
            status=Status(span.status.status_code),
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    def _reduced_resource(self, resource: Resource) -> Resource:
        # One TracerProvider has one resource: cache its reduction rather than redo it per span.
        cached = self._resources.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1]
        reduced = Resource(
            {key: value for key, value in resource.attributes.items() if key in ALLOWED_RESOURCE_ATTRIBUTES}
        )
        self._resources = {id(resource): (resource, reduced)}
        return reduced

    def shutdown(self) -> None:
        """Shut the inner processor down."""
        self._processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the inner processor."""
        return self._processor.force_flush(timeout_millis)


class _AllowlistSpanExporter(SpanExporter):
    """Reduces each span, on the export thread, before the wrapped exporter sees it."""

    def __init__(self, exporter: SpanExporter, reduce: Callable[[ReadableSpan], ReadableSpan],
                 gated: bool = False) -> None:
        self.exporter = exporter
        self._reduce = reduce
        self._gated = gated

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        # GA's copy only: a process started without the otel_aa app sends GA nothing (the
        # README's opt-out), decided here on the export thread (otel_aa.startup.ga_blocked).
        if self._gated:
            from otel_aa.startup import ga_blocked

            if ga_blocked():
                return SpanExportResult.SUCCESS
        return self.exporter.export([self._reduce(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)
