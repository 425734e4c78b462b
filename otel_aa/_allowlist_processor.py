"""The privacy allowlist in the SDK's span pipeline: each finished span GA can use is passed on
reduced (:func:`otel_aa.privacy.reduced_span`), never as it is.

:meth:`AllowlistSpanProcessor.batching` pairs the allowlist with a ``BatchSpanProcessor`` so the
copy is made on the export thread, and drops cheaply while the queue is full; the configurator
puts every GA span exporter (and, with :envvar:`OTEL_AA_OTLP_ALLOWLIST`, every other one) behind it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from otel_aa._guard import guarded
from otel_aa._internals import batch_queue, queue_full
from otel_aa.privacy import is_analytics_span, reduced_resource, reduced_span

__all__ = ["AllowlistSpanProcessor"]

_logger = logging.getLogger(__name__)

_DROP_LOG_INTERVAL = 60.0


class AllowlistSpanProcessor(SpanProcessor):
    """Pass a reduced copy of each finished span to ``processor``, keeping only what's allowed.

    The copy is :func:`otel_aa.privacy.reduced_span`'s (the original, which other processors
    see, is not changed), with the resource reduced to
    :data:`~otel_aa.privacy.ALLOWED_RESOURCE_ATTRIBUTES`.

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
        # SDK internals, read only at the SDK versions otel-aa supports; else the SDK's own path.
        self._batcher = batch_queue(batch)
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
        if batcher is not None and queue_full(batcher):
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
        return reduced_span(span, self._reduced_resource(span.resource))

    def _reduced_resource(self, resource: Resource) -> Resource:
        # One TracerProvider has one resource: cache its reduction rather than redo it per span.
        cached = self._resources.get(id(resource))
        if cached is not None and cached[0] is resource:
            return cached[1]
        reduced = reduced_resource(resource)
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
        # README's opt-out), decided here on the export thread (otel_aa._startup.ga_blocked).
        if self._gated:
            from otel_aa._startup import ga_blocked

            if ga_blocked():
                return SpanExportResult.SUCCESS
        return self.exporter.export([self._reduce(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)
