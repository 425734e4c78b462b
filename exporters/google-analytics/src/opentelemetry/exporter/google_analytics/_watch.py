"""The settings the pipeline resolves, and the fingerprint that tells when one of them changed."""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics.settings import _MISSING, django_setting

__all__ = ["django_debug", "settings_fingerprint"]


def django_debug() -> bool:
    """Django's ``DEBUG`` (False without Django): what ``validate`` defaults to."""
    debug = django_setting("DEBUG")
    return bool(debug) if debug is not _MISSING else False


# Every setting the pipeline reads; a change in any of them (an env var, or Django becoming
# configured after the exporter was built, as under ``opentelemetry-instrument``) rebuilds it.
_WATCHED_SETTINGS = (
    env.OTEL_EXPORTER_GA_TOKENS, env.OTEL_EXPORTER_GA_MEASUREMENT_ID, env.OTEL_EXPORTER_GA_API_SECRET,
    env.OTEL_EXPORTER_GA_PAGE_VIEWS, env.OTEL_EXPORTER_GA_CELERY_EVENTS,
    env.OTEL_EXPORTER_GA_DAILY_STATS, env.OTEL_EXPORTER_GA_IGNORE_PATHS, env.OTEL_EXPORTER_GA_ENDPOINT,
    env.OTEL_EXPORTER_GA_TIMEOUT, env.OTEL_EXPORTER_GA_VALIDATE, env.OTEL_EXPORTER_GA_CLIENT_ID,
    "DEBUG",
)


def settings_fingerprint() -> tuple[Any, ...]:
    """The raw values of the watched settings: cheap to take, compared at every export."""
    values: list[Any] = []
    for name in _WATCHED_SETTINGS:
        setting = django_setting(name)
        try:
            hash(setting)
        except TypeError:
            setting = repr(setting)  # lists and dicts from settings.py; compared, never logged
        values.append((os.environ.get(name), setting))
    return tuple(values)
