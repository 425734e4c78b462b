"""The span exporter: the GA4 events a mapping makes of finished spans (page views, custom events, ...)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry.exporter.google_analytics._arguments import ExporterArgs, check_keywords
from opentelemetry.exporter.google_analytics._config import GAConfig
from opentelemetry.exporter.google_analytics._events import GAEvent
from opentelemetry.exporter.google_analytics._log import log_per_window
from opentelemetry.exporter.google_analytics._mapping import DefaultMapping, GAMapping
from opentelemetry.exporter.google_analytics._pipeline import _Pipeline, build_pipeline
from opentelemetry.exporter.google_analytics._tokens import Token
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["RECOMMENDED_EXPORT_BATCH_SIZE", "GoogleAnalyticsSpanExporter"]

#: ``max_export_batch_size`` for the ``BatchSpanProcessor`` in front of this exporter: a multiple
#: of GA's 25 events per request, so every request is full (the SDK default, 512, leaves one
#: 12-event request per batch: 41 requests per 1,000 events instead of 40).
RECOMMENDED_EXPORT_BATCH_SIZE = 500
#: Spans mapped and sanitized between two steps aside (``_Pipeline.step_aside``): about one
#: request body's worth of work.
_SPANS_PER_STRETCH = 25


class GoogleAnalyticsSpanExporter(SpanExporter):
    """Send the GA4 events that finished spans stand for, to every configured token.

    Takes the keyword arguments of :class:`.arguments.ExporterArgs`, each optional; ``None``
    means: the environment variable, else the host setting of the same name (``settings``), else
    the default (see :mod:`.environment_variables`). They are resolved once, into :attr:`config`;
    :func:`.reload_settings` resolves them again.
    ``mapping`` says which spans become which events (default: :class:`.DefaultMapping`).
    ``export`` never raises: it returns ``FAILURE`` and logs once per window instead.
    """

    def __init__(self, **kwargs: Unpack[ExporterArgs]) -> None:
        check_keywords(kwargs, ExporterArgs, type(self).__name__)
        mapping = kwargs.get("mapping")
        #: Which spans become which GA events (:mod:`._mapping`).
        self.mapping: GAMapping = mapping if mapping is not None else DefaultMapping()
        self._pipeline: _Pipeline | None = build_pipeline(kwargs)
        self._shutdown = False

    def __repr__(self) -> str:
        return f"GoogleAnalyticsSpanExporter({self._pipeline!r})"

    @property
    def config(self) -> GAConfig | None:
        """The settings in force (``None``: the exporter could not start)."""
        return self._pipeline.config if self._pipeline else None

    @property
    def tokens(self) -> list[Token]:
        """The valid tokens this exporter sends to."""
        return list(self._pipeline.tokens) if self._pipeline else []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        pipeline = self._pipeline
        if pipeline is None:
            return SpanExportResult.SUCCESS
        try:
            tokens = pipeline.tokens
            if not tokens:
                return SpanExportResult.SUCCESS
            # A stretch at a time, so a request never waits for the whole batch's mapping.
            events: list[GAEvent] = []
            for start in range(0, len(spans), _SPANS_PER_STRETCH):
                if start:
                    pipeline.step_aside()
                stretch = spans[start:start + _SPANS_PER_STRETCH]
                events += pipeline.sanitize(_events(stretch, pipeline, self.mapping))
            ok = pipeline.deliver(events, tokens)
        except Exception as exc:
            log_per_window(f"span-export:{type(exc).__name__}", logging.ERROR,
                           "Google Analytics span export failed unexpectedly (%s)",
                           type(exc).__name__)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Stop retries in progress and close the HTTP session."""
        self._shutdown = True
        if self._pipeline is not None:
            self._pipeline.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered here (the span processor batches), so there is nothing to flush."""
        return True


def _events(spans: Sequence[ReadableSpan], pipeline: _Pipeline,
            mapping: GAMapping) -> list[GAEvent | None]:
    """Each span's event; a span the mapping can't read costs only itself (counted). A list, not
    a generator: resuming one per span cost more than the append (issue 13)."""
    span_to_event = mapping.span_to_event
    events: list[GAEvent | None] = []
    append = events.append
    for span in spans:
        try:
            append(span_to_event(span))
        except Exception as exc:
            pipeline.drops.add(f"span could not be mapped ({type(exc).__name__})")
    return events
