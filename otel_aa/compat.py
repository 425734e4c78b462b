"""Alliance Auth compatibility, when AA is installed.

- ``ANALYTICS_DISABLED`` (AA's Django setting): nothing goes to GA. The exporter reads it at every
  export; :func:`analytics_disabled` is what the checks and the start-up log use.
- ``allianceauth.analytics.models.AnalyticsIdentifier``: the install's ``client_id``.
- ``allianceauth.analytics.models.AnalyticsTokens``: the admin-managed GA destinations; their
  GA-V4 tokens with ``send_stats`` receive the daily stats (:func:`aa_stats_tokens`), with their
  ``ignore_paths`` where the AA version still has them (2.x-3.x).
- ``allianceauth.__version__``: the AA version sent as a user property.

Everything here is defensive: without AA, with AA's tables not migrated yet, or with the database
down, the functions return ``None`` or ``[]`` and log the reason once. They may query the
database: call them from an exporter's thread, never on a request or task thread.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from opentelemetry.exporter.google_analytics import settings as ga_settings

from otel_aa._db import close_connections
from otel_aa._guard import log_once

__all__ = [
    "aa_client_id",
    "aa_installed",
    "aa_stats_tokens",
    "aa_version",
    "analytics_disabled",
    "log_analytics_disabled_once",
]

_logger = logging.getLogger(__name__)

#: AA's token type for GA4 (Measurement Protocol); "GA-U" (Universal Analytics) is dead.
AA_GA4_TOKEN_TYPE = "GA-V4"


def _log_once(key: str, level: int, msg: str, *args: object) -> None:
    log_once(f"compat:{key}", level, msg, *args, logger=_logger)


def aa_installed() -> bool:
    """Whether the ``allianceauth`` package can be imported here."""
    try:
        return importlib.util.find_spec("allianceauth") is not None
    except (ImportError, ValueError):
        return False


def aa_version() -> str | None:
    """``allianceauth.__version__``, or None without AA."""
    if not aa_installed():
        return None
    try:
        import allianceauth
    except Exception as exc:  # AA half installed must not stop the site
        _log_once("import", logging.WARNING, "otel-aa: allianceauth could not be imported (%s)",
                  type(exc).__name__)
        return None
    version = getattr(allianceauth, "__version__", None)
    return str(version) if version else None


def analytics_disabled() -> bool:
    """AA's ``ANALYTICS_DISABLED`` switch (environment variable or Django setting); false if unset."""
    try:
        return bool(ga_settings.resolve("ANALYTICS_DISABLED", None, False, ga_settings.parse_bool))
    except Exception as exc:
        _log_once("disabled", logging.WARNING, "otel-aa: could not read ANALYTICS_DISABLED (%s)",
                  type(exc).__name__)
        return False


def log_analytics_disabled_once() -> bool:
    """Say once, at start-up, that ``ANALYTICS_DISABLED`` is on. Return whether it is."""
    disabled = analytics_disabled()
    if disabled:
        _log_once("disabled-on", logging.WARNING,
                  "otel-aa: ANALYTICS_DISABLED is set: nothing is sent to Google Analytics "
                  "(OTLP, if configured, is unaffected)")
    return disabled


def _aa_models() -> Any:
    """AA's analytics models module, or None (AA absent, its app not installed, or not ready)."""
    if not aa_installed():
        return None
    try:
        from django.apps import apps

        if not apps.ready:
            # e.g. gunicorn's master under opentelemetry-instrument: Django is set up in the workers.
            return None
        if not apps.is_installed("allianceauth.analytics"):
            return None
        from allianceauth.analytics import models
    except Exception as exc:
        _log_once("models", logging.WARNING,
                  "otel-aa: Alliance Auth's analytics models are not available (%s)", type(exc).__name__)
        return None
    return models


def aa_client_id() -> str | None:
    """AA's ``AnalyticsIdentifier.identifier`` as AA sends it (32 hex digits), or None.

    None when AA is absent, has no row yet, or the database can't be read.
    """
    models = _aa_models()
    if models is None:
        return None
    try:
        model = models.AnalyticsIdentifier
        # AA 4+ keeps it as a django-solo singleton; get_solo() is how AA itself reads it.
        get_solo = getattr(model, "get_solo", None)
        row = get_solo() if get_solo is not None else model.objects.order_by("pk").first()
        if row is None:
            # AA creates its row in a migration; a missing one means AA isn't migrated yet.
            _log_once("identifier", logging.WARNING,
                      "otel-aa: Alliance Auth has no AnalyticsIdentifier yet; using otel-aa's own")
            return None
        # AA's own tasks send ``identifier.hex``: the same form keeps the install one GA client.
        return str(row.identifier.hex)
    except Exception as exc:
        _log_once("identifier-error", logging.WARNING,
                  "otel-aa: could not read Alliance Auth's AnalyticsIdentifier (%s)", type(exc).__name__)
        return None
    finally:
        close_connections()  # this runs on an exporter thread


def aa_stats_tokens() -> list[Any]:
    """AA's GA-V4 ``AnalyticsTokens`` with ``send_stats``, as exporter ``Token``\\ s (daily stats only).

    Each keeps its ``ignore_paths``; page views and Celery events stay off for them here (AA 4+
    itself only sends the daily stats). Empty without AA, with ``ANALYTICS_DISABLED``, or when
    the table can't be read.
    """
    if analytics_disabled():
        return []
    models = _aa_models()
    if models is None:
        return []
    try:
        from opentelemetry.exporter.google_analytics.tokens import Token
    except ImportError as exc:
        _log_once("tokens-import", logging.WARNING, "otel-aa: exporter tokens unavailable (%s)",
                  type(exc).__name__)
        return []
    tokens: list[Any] = []
    try:
        model = models.AnalyticsTokens
        fields = {f.name for f in model._meta.get_fields()}
        rows = model.objects.filter(type=AA_GA4_TOKEN_TYPE, send_stats=True)
        # AA 2.x-3.x had per-token ignore paths (an M2M to AnalyticsPath); AA 4+ dropped them.
        has_paths = "ignore_paths" in fields
        if has_paths:
            rows = rows.prefetch_related("ignore_paths")
        for row in rows:
            if not row.token or not row.secret:
                _log_once(f"aa-token-{row.pk}", logging.WARNING,
                          "otel-aa: Alliance Auth analytics token #%s has no measurement id or secret; "
                          "skipped", row.pk)
                continue
            paths = tuple(_compile(p.ignore_path) for p in row.ignore_paths.all()) if has_paths else ()
            tokens.append(
                Token(
                    name=f"aa:{row.name}",
                    measurement_id=row.token,
                    api_secret=row.secret,
                    page_views=False,
                    celery_events=False,
                    daily_stats=True,
                    ignore_paths=tuple(p for p in paths if p is not None),
                )
            )
    except Exception as exc:
        _log_once("tokens-error", logging.WARNING,
                  "otel-aa: could not read Alliance Auth's AnalyticsTokens (%s)", type(exc).__name__)
        return []
    finally:
        close_connections()  # this runs on an exporter thread
    return tokens


def _compile(pattern: str) -> Any:
    import re

    try:
        return re.compile(pattern)
    except re.error:
        _log_once(f"path-{pattern}", logging.WARNING,
                  "otel-aa: an Alliance Auth ignore path is not a valid regular expression; skipped")
        return None
