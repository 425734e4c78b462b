"""Instrumenting Django and Celery for otel-aa, written once for every way otel-aa starts.

:func:`instrument` serves ``otel_aa.configure()``, a Celery child's ``worker_process_init`` and
``AppConfig.ready``; the distro (``opentelemetry-instrument``) loads the instrumentors itself,
with :func:`instrumentor_kwargs`, and then calls :func:`after_instrumenting`. Either way: the
instrumentor gets otel-aa's arguments (Django's response hook, the meter provider), then otel-aa's
patches (:mod:`otel_aa._lean`) and the Celery signal handlers (:mod:`otel_aa._celery_hooks`) follow.
An instrumentor already applied (by the distro, by hand) is left as it is.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from otel_aa._guard import guarded
from otel_aa.environment_variables import exporter_names

__all__ = ["INSTRUMENTATIONS", "after_instrumenting", "instrument", "instrumentor_kwargs"]

_logger = logging.getLogger(__name__)

#: The instrumentations otel-aa adds to, by their ``opentelemetry_instrumentor`` entry-point name:
#: (module, class).
INSTRUMENTATIONS: dict[str, tuple[str, str]] = {
    "django": ("opentelemetry.instrumentation.django", "DjangoInstrumentor"),
    "celery": ("opentelemetry.instrumentation.celery", "CeleryInstrumentor"),
}


def instrument(names: tuple[str, ...] = tuple(INSTRUMENTATIONS), *, apply: bool = True) -> None:
    """Instrument ``names`` (if not yet), then add otel-aa's patches and hooks; idempotent.

    ``apply=False`` (``AppConfig.ready``, which must not start telemetry behind the site's back)
    instruments nothing itself: it patches, and hooks into what is already instrumented.
    """
    for name in names:
        _instrument_one(name, apply)


@guarded("instrumenting")
def _instrument_one(name: str, apply: bool) -> None:
    module_name, class_name = INSTRUMENTATIONS[name]
    try:
        instrumentor = getattr(importlib.import_module(module_name), class_name)()
    except ImportError:  # that instrumentation isn't installed: nothing to add to
        return
    if apply and not instrumentor.is_instrumented_by_opentelemetry and _can_instrument(name):
        instrumentor.instrument(**instrumentor_kwargs(name))
    after_instrumenting(name, connect=instrumentor.is_instrumented_by_opentelemetry)


def _can_instrument(name: str) -> bool:
    if name != "django":
        return True
    from django.conf import settings

    if settings.configured or os.environ.get("DJANGO_SETTINGS_MODULE"):
        return True
    # The instrumentor would call settings.configure() with empty settings and break the site's
    # own start-up: configure() must come after DJANGO_SETTINGS_MODULE is set.
    _logger.warning("otel-aa: Django isn't set up yet (no DJANGO_SETTINGS_MODULE); Django is not "
                    "instrumented. Call otel_aa.configure() after setting DJANGO_SETTINGS_MODULE.")
    return False


def instrumentor_kwargs(name: str) -> dict[str, Any]:
    """otel-aa's arguments for instrumentor ``name`` (``django``, ``celery``; others: none).

    Django gets the response hook (:mod:`otel_aa._django_hook`). When GA is the only metrics
    exporter, nobody reads the instrumentations' request-duration histograms and active-request
    counters, yet the SDK would aggregate them on every request and task: a no-op meter provider
    skips that work (about a fifth of otel-aa's cost per request, see docs/performance.md). Any
    other metrics exporter (``otlp``) gets them as usual.
    """
    if name not in INSTRUMENTATIONS:
        return {}
    kwargs: dict[str, Any] = {}
    if name == "django":
        from otel_aa._django_hook import django_response_hook

        kwargs["response_hook"] = django_response_hook
    if set(exporter_names("OTEL_METRICS_EXPORTER")) <= {"ga", "none"}:
        from opentelemetry.metrics import NoOpMeterProvider

        kwargs["meter_provider"] = NoOpMeterProvider()
    return kwargs


@guarded("otel-aa's patches and Celery hooks")
def after_instrumenting(name: str, *, connect: bool = True) -> None:
    """What follows instrumentor ``name``: otel-aa's patches, and for Celery its signal handlers.

    The patches go on whether or not the instrumentor is applied yet (they wrap its helpers,
    idle until it runs); the handlers only with ``connect``, once Celery is instrumented.
    """
    from otel_aa import _lean as lean

    if name == "django":
        lean.patch_django_instrumentation()
    elif name == "celery":
        lean.patch_celery_instrumentation()
        if connect:
            from otel_aa._celery_hooks import connect_celery_signals

            connect_celery_signals()
