"""Django's settings as the exporter's host settings (its ``settings=`` argument).

The GA exporter knows no framework: it reads a setting from its constructor argument, the
environment, then the lookup it is handed (:data:`opentelemetry.exporter.google_analytics.settings.
HostSettings`). The distro hands it :func:`django_setting`, and resolves its own settings through the
same lookup, e.g. ``ga_settings.resolve(name, None, default, parse, settings=django_setting)``.
Before Django's settings are loaded the lookup finds nothing; ``AppConfig.ready`` then calls
``reload_settings()`` so every exporter sees them.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from opentelemetry.exporter.google_analytics import environment_variables as ga_env
from opentelemetry.exporter.google_analytics import settings as ga_settings

from otel_aa import environment_variables as env

__all__ = ["django_setting"]


def django_setting(name: str) -> Any:
    """Django setting ``name``, ``None`` when absent or Django's settings aren't loaded.

    Two of the exporter's settings follow Alliance Auth's where the admin hasn't set them:
    :envvar:`OTEL_EXPORTER_GA_VALIDATE` follows ``DEBUG``, as AA's own analytics did (the exporter
    alone defaults to ``false``), and :envvar:`OTEL_EXPORTER_GA_DISABLED` is AA's
    :envvar:`ANALYTICS_DISABLED` (its environment variable, else its Django setting); a value that
    can't be read is ``True`` (fails closed).
    """
    if name == ga_env.OTEL_EXPORTER_GA_DISABLED:
        return _aa_disabled()
    return _setting(name)


def _aa_disabled() -> Any:
    own = _setting(ga_env.OTEL_EXPORTER_GA_DISABLED)
    if own is not None:
        return own
    raw = os.environ.get(env.ANALYTICS_DISABLED)
    if raw is None or raw.strip() == "":
        raw = _setting(env.ANALYTICS_DISABLED)
    if raw is None:
        return None
    try:
        return ga_settings.parse_bool(raw)
    except ValueError:
        return True  # unreadable means disabled; otel_aa._config reports it, once, by its own name


def _setting(name: str) -> Any:
    conf = sys.modules.get("django.conf")  # not imported here: a process without Django has none
    if conf is None:
        return None
    settings = conf.settings
    if not settings.configured:
        return None
    value = getattr(settings, name, None)
    if value is None and name == ga_env.OTEL_EXPORTER_GA_VALIDATE:
        return bool(getattr(settings, "DEBUG", False))
    return value
