"""The OpenTelemetry distro (``OTEL_PYTHON_DISTRO=otel_aa``) for ``opentelemetry-instrument``.

It sets otel-aa's environment defaults (:data:`otel_aa.environment_variables.DEFAULT_ENVIRONMENT`:
GA for traces and metrics, no logs, OTLP over HTTP), with ``os.environ.setdefault`` only, the one
place otel-aa touches the environment; ``otel_aa.configure()`` runs the same defaults. It loads
the instrumentations as usual, Django's and Celery's with otel-aa's arguments and followed by
otel-aa's patches and Celery hooks, from the same place as ``configure()``
(:mod:`otel_aa._instrumenting`).
"""

from __future__ import annotations

import os
from typing import Any

# mypy, with this repo's namespace-package settings, sees opentelemetry.instrumentation as empty.
from opentelemetry.instrumentation.distro import BaseDistro  # type: ignore[attr-defined]

from otel_aa._instrumenting import INSTRUMENTATIONS, after_instrumenting, instrumentor_kwargs
from otel_aa.environment_variables import DEFAULT_ENVIRONMENT

__all__ = ["OtelAADistro", "set_default_environment"]


def set_default_environment() -> None:
    """``os.environ.setdefault`` each of :data:`~otel_aa.environment_variables.DEFAULT_ENVIRONMENT`."""
    for name, value in DEFAULT_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


class OtelAADistro(BaseDistro):
    """``opentelemetry_distro`` entry point ``otel_aa``."""

    def _configure(self, **kwargs: Any) -> None:
        set_default_environment()

    def load_instrumentor(self, entry_point: Any, **kwargs: Any) -> None:
        """Instrument as usual; Django and Celery get otel-aa's arguments, patches and hooks."""
        name = entry_point.name
        if name not in INSTRUMENTATIONS:
            super().load_instrumentor(entry_point, **kwargs)
            return
        super().load_instrumentor(entry_point, **{**instrumentor_kwargs(name), **kwargs})
        after_instrumenting(name)
