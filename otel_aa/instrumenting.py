"""Instrumenting Django and Celery for otel-aa: the response hook, the lean patches, the Celery hooks.

Idempotent: an instrumentor already applied (by ``opentelemetry-instrument``) is left as it is;
only otel-aa's patches (:mod:`otel_aa.lean`) and hooks are added.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from opentelemetry.environment_variables import OTEL_METRICS_EXPORTER

from otel_aa._guard import guarded

__all__ = ["instrument", "instrumentation_kwargs"]

_logger = logging.getLogger(__name__)


def instrument() -> None:
    """Instrument Django (with otel-aa's response hook) and Celery, and connect the Celery hooks."""
    from otel_aa import hooks

    _instrument_django(hooks.django_response_hook)
    _instrument_celery()
    hooks.connect_celery_signals()


@guarded("instrumenting Django")
def _instrument_django(response_hook: Any) -> None:
    try:
        from opentelemetry.instrumentation.django import DjangoInstrumentor
    except ImportError:
        return
    from django.conf import settings

    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        # The instrumentor would call settings.configure() with empty settings and break the
        # site's own start-up: configure() must come after DJANGO_SETTINGS_MODULE is set.
        _logger.warning("otel-aa: Django isn't set up yet (no DJANGO_SETTINGS_MODULE); Django is not "
                        "instrumented. Call otel_aa.configure() after setting DJANGO_SETTINGS_MODULE.")
        return
    instrumentor = DjangoInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(response_hook=response_hook, **instrumentation_kwargs())
    from otel_aa.lean import patch_django_instrumentation

    patch_django_instrumentation()


def instrumentation_kwargs() -> dict[str, Any]:
    """Extra arguments for the Django and Celery instrumentors.

    When GA is the only metrics exporter, nobody reads the instrumentations' request-duration
    histograms and active-request counters, yet the SDK would aggregate them on every request
    and task: a no-op meter provider skips that work (about a fifth of otel-aa's cost per
    request, see docs/performance.md). Any other metrics exporter (``otlp``) gets them as usual.
    """
    names = {n.strip() for n in os.environ.get(OTEL_METRICS_EXPORTER, "").split(",")} - {"", "none"}
    if names <= {"ga"}:
        from opentelemetry.metrics import NoOpMeterProvider

        return {"meter_provider": NoOpMeterProvider()}
    return {}


@guarded("instrumenting Celery")
def _instrument_celery() -> None:
    try:
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
    except ImportError:
        return
    instrumentor = CeleryInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(**instrumentation_kwargs())
    from otel_aa.lean import patch_celery_instrumentation

    patch_celery_instrumentation()
