"""The Django app: ``"otel_aa"`` in ``INSTALLED_APPS``."""

from __future__ import annotations

from django.apps import AppConfig


class OtelAAConfig(AppConfig):
    name = "otel_aa"
    label = "otel_aa"
    verbose_name = "otel-aa analytics"
    default_auto_field = "django.db.models.BigAutoField"
