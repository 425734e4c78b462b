"""Alliance Auth compatibility, when AA is installed.

- ``ANALYTICS_DISABLED`` (AA's Django setting): nothing goes to GA. Resolved once
  (:mod:`otel_aa._config`); :func:`analytics_disabled` is what the checks and the start-up log use.
- ``allianceauth.analytics.models.AnalyticsIdentifier``: the install's ``client_id``
  (:mod:`otel_aa._identity` reads it; :func:`aa_analytics_installed` says whether it is there).
- ``allianceauth.analytics.models.AnalyticsTokens``: the admin-managed GA destinations; their
  GA-V4 tokens get daily stats by AA's ``send_stats`` and the other streams by otel-aa's admin
  switches (:func:`otel_aa._admin_tokens.aa_stats_tokens`).
- ``allianceauth.__version__``: the AA version sent as a user property.

Everything here is defensive: without AA, with AA's tables not migrated yet, or with the database
down, the functions return ``None`` or ``[]`` and log the reason once. They may query the
database: call them from an exporter's thread, never on a request or task thread.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from otel_aa import _config as config
from otel_aa._guard import log_once

__all__ = [
    "aa_analytics_installed",
    "aa_installed",
    "aa_models",
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
    """AA's ``ANALYTICS_DISABLED`` switch (environment variable or Django setting); false if unset.

    Fails closed: a value that can't be read (``"y"``, ``"2"``, a list) or an error reading it
    means disabled, reported once. Resolved once (:mod:`otel_aa._config`), read here.
    """
    try:
        return config.current().analytics_disabled
    except Exception as exc:
        _log_once("disabled", logging.WARNING, "otel-aa: could not read ANALYTICS_DISABLED (%s); "
                  "nothing is sent to GA", type(exc).__name__)
        return True


def log_analytics_disabled_once() -> bool:
    """Say once, at start-up, that ``ANALYTICS_DISABLED`` is on. Return whether it is."""
    disabled = analytics_disabled()
    # An unreadable value was reported already (and reads as disabled); this says only "set".
    if disabled and not config.current().analytics_disabled_unreadable:
        _log_once("disabled-on", logging.WARNING,
                  "otel-aa: ANALYTICS_DISABLED is set: nothing is sent to Google Analytics "
                  "(OTLP, if configured, is unaffected)")
    return disabled


def aa_models() -> Any:
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


def aa_analytics_installed() -> bool:
    """Whether AA's analytics app (its ``AnalyticsIdentifier`` and tokens) is in ``INSTALLED_APPS``.

    Its identifier is then the install's ``client_id`` (:mod:`otel_aa._identity`), and only it.
    """
    if not aa_installed():
        return False
    try:
        from django.apps import apps

        return bool(apps.ready and apps.is_installed("allianceauth.analytics"))
    except Exception:  # Django not set up: AA's app is not there for otel-aa either
        return False
