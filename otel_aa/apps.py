"""The Django app: ``"otel_aa"`` in ``INSTALLED_APPS``."""

from __future__ import annotations

import importlib

from django.apps import AppConfig

from otel_aa._guard import guarded


class OtelAAConfig(AppConfig):
    name = "otel_aa"
    label = "otel_aa"
    verbose_name = "otel-aa analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        _register_checks()
        # However Django and Celery get instrumented (configure(), the distro, by hand): a path
        # beyond Latin-1 must not make the instrumentation fail the request, and the
        # instrumentations collect only what is read (otel_aa.lean).
        from otel_aa.lean import patch_celery_instrumentation, patch_django_instrumentation

        patch_django_instrumentation()
        patch_celery_instrumentation()


@guarded("registering otel-aa's system checks")
def _register_checks() -> None:
    importlib.import_module("otel_aa.checks")
    # The daily-stats module registers its own check (AA's beat entry still scheduled) on import,
    # or through register_checks().
    stats = _optional("otel_aa.stats")
    register = getattr(stats, "register_checks", None)
    if register is not None:
        register()


def _optional(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None
