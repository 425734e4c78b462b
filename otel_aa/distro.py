"""The OpenTelemetry distro (``OTEL_PYTHON_DISTRO=otel_aa``) for ``opentelemetry-instrument``.

It sets otel-aa's environment defaults (GA for traces and metrics, no logs, OTLP over HTTP) and
loads the instrumentations as usual, giving Django's otel-aa's response hook and connecting
otel-aa's Celery hooks next to Celery's, and makes both leaner where only the allowlist reads
their spans (:mod:`otel_aa.lean`).
"""

from __future__ import annotations

import logging
from typing import Any

# mypy, with this repo's namespace-package settings, sees opentelemetry.instrumentation as empty.
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]

from otel_aa._guard import guarded
from otel_aa.configurator import set_default_environment
from otel_aa.instrumenting import instrumentation_kwargs

__all__ = ["OtelAADistro"]

_logger = logging.getLogger(__name__)


class OtelAADistro(BaseDistro):
    """``opentelemetry_distro`` entry point ``otel_aa``."""

    def _configure(self, **kwargs: Any) -> None:
        set_default_environment()

    def load_instrumentor(self, entry_point: Any, **kwargs: Any) -> None:
        """Instrument as usual; Django gets the response hook, Celery gets otel-aa's signal hooks."""
        if entry_point.name == "django":
            from otel_aa.hooks import django_response_hook

            kwargs.setdefault("response_hook", django_response_hook)
        if entry_point.name in ("django", "celery"):
            for key, value in instrumentation_kwargs().items():
                kwargs.setdefault(key, value)
        super().load_instrumentor(entry_point, **kwargs)
        if entry_point.name == "django":
            from otel_aa.lean import patch_django_instrumentation

            patch_django_instrumentation()
        if entry_point.name == "celery":
            from otel_aa.lean import patch_celery_instrumentation

            patch_celery_instrumentation()
            _connect_celery()


@guarded("connecting the Celery hooks")
def _connect_celery() -> None:
    from otel_aa.hooks import connect_celery_signals

    connect_celery_signals()
