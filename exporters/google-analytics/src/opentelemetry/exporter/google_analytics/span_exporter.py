"""The span exporter: page views, Celery task events and custom events to GA4."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import requests
from opentelemetry.exporter.google_analytics._log import log_per_window
from opentelemetry.exporter.google_analytics._pipeline import (
    ClientId,
    DeliveryObserver,
    TokenSource,
    UserProperties,
    _Pipeline,
    build_pipeline,
)
from opentelemetry.exporter.google_analytics.events import GAEvent
from opentelemetry.exporter.google_analytics.mapping import span_to_event
from opentelemetry.exporter.google_analytics.tokens import Token
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

__all__ = ["RECOMMENDED_EXPORT_BATCH_SIZE", "GoogleAnalyticsSpanExporter"]

#: ``max_export_batch_size`` for the ``BatchSpanProcessor`` in front of this exporter: a multiple
#: of GA's 25 events per request, so every request is full (the SDK default, 512, leaves one
#: 12-event request per batch: 41 requests per 1,000 events instead of 40).
RECOMMENDED_EXPORT_BATCH_SIZE = 500


class GoogleAnalyticsSpanExporter(SpanExporter):
    """Send the GA4 events that finished spans stand for, to every configured token.

    Every argument is optional; ``None`` means: the environment variable, else the Django
    setting of the same name, else the default (see :mod:`.environment_variables`).
    ``export`` never raises: it returns ``FAILURE`` and logs once per window instead.
    """

    def __init__(
        self,
        tokens: Sequence[Token | Mapping[str, Any]] | str | None = None,
        measurement_id: str | None = None,
        api_secret: str | None = None,
        page_views: bool | None = None,
        celery_events: bool | None = None,
        daily_stats: bool | None = None,
        ignore_paths: Sequence[str] | str | None = None,
        endpoint: str | None = None,
        timeout: float | None = None,
        validate: bool | None = None,
        client_id: ClientId | None = None,
        user_properties: UserProperties | None = None,
        session: requests.Session | None = None,
        token_source: TokenSource | None = None,
        delivery_observer: DeliveryObserver | None = None,
    ) -> None:
        self._pipeline: _Pipeline | None = build_pipeline(dict(
            tokens=tokens, measurement_id=measurement_id, api_secret=api_secret,
            page_views=page_views, celery_events=celery_events, daily_stats=daily_stats,
            ignore_paths=ignore_paths, endpoint=endpoint, timeout=timeout, validate=validate,
            client_id=client_id, user_properties=user_properties, session=session,
            token_source=token_source, delivery_observer=delivery_observer,
        ))
        self._shutdown = False

    def __repr__(self) -> str:
        return f"GoogleAnalyticsSpanExporter({self._pipeline!r})"

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
            events = pipeline.sanitize(_events(spans, pipeline))
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


def _events(spans: Sequence[ReadableSpan], pipeline: _Pipeline) -> Iterator[GAEvent | None]:
    """Each span's event; a span the mapping can't read costs only itself (counted)."""
    for span in spans:
        try:
            yield span_to_event(span)
        except Exception as exc:
            pipeline.drops.add(f"span could not be mapped ({type(exc).__name__})")
