"""The distro's settings, resolved once into one frozen :class:`Config`; request threads only read it.

Settings can change only while the process starts (environment, Django's settings module), so
they are resolved at that moment: lazily by the first :func:`current`, and again by
:func:`reload`, which ``AppConfig.ready`` calls once Django's settings are final. A hook on a
request or task thread reads attributes of :func:`current` (one global load), never a setting.
Tests that change a setting call :func:`reload` after it (``override_settings`` alone is not seen).

Each field is resolved by the exporter's resolve helpers (:mod:`opentelemetry.exporter.
google_analytics.settings`) over Django's settings (:func:`otel_aa._host_settings.django_setting`):
environment variable > Django setting > ``DEFAULT_*``; switches fail closed, an unreadable value
is reported once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.exporter.google_analytics import environment_variables as ga_env
from opentelemetry.exporter.google_analytics import settings as ga_settings

from otel_aa import environment_variables as env
from otel_aa._host_settings import django_setting

__all__ = ["PAGE_TITLE_MODES", "Config", "current", "parse_page_title_mode", "reload", "resolve"]

#: The values of :envvar:`OTEL_AA_PAGE_TITLE`.
PAGE_TITLE_MODES = ("view_name", "html")

_TITLES_CLOSED = "page titles are view names until it is fixed"


@dataclass(frozen=True)
class Config:
    """What the distro's hooks read; built by :func:`resolve`, replaced whole by :func:`reload`."""

    #: :envvar:`OTEL_AA_PAGE_TITLE`: ``view_name`` or ``html`` (unreadable: ``view_name``).
    page_title_mode: str = env.DEFAULT_PAGE_TITLE
    #: :envvar:`OTEL_AA_PAGE_TITLE_K`, at least 2; ``None`` (no HTML title at all) if unreadable.
    page_title_k: int | None = env.DEFAULT_PAGE_TITLE_K
    #: :envvar:`OTEL_AA_TITLE_MAX_LENGTH`, in characters.
    title_max_length: int = env.DEFAULT_TITLE_MAX_LENGTH
    #: Alliance Auth's ``ANALYTICS_DISABLED``: nothing goes to GA. Fails closed: unreadable is on.
    analytics_disabled: bool = False
    #: Whether ``ANALYTICS_DISABLED`` held a value that can't be read (so it reads as on).
    analytics_disabled_unreadable: bool = False
    #: :envvar:`OTEL_EXPORTER_GA_STATS_INTERVAL`: seconds between two daily-stats sends (the lease's).
    stats_interval: float = ga_env.DEFAULT_STATS_INTERVAL
    #: :envvar:`OTEL_AA_FLUSH_TIMEOUT`: seconds a flush (a Celery child's exit) may take, at most.
    flush_timeout: float = env.DEFAULT_FLUSH_TIMEOUT
    #: :envvar:`OTEL_AA_OTLP_ALLOWLIST`: GA's allowlist for the other exporters too (unreadable: on).
    otlp_allowlist: bool = env.DEFAULT_OTLP_ALLOWLIST


def parse_page_title_mode(value: Any) -> str:
    """``view_name`` or ``html`` (any case); anything else is unreadable."""
    if isinstance(value, str) and value.strip().lower() in PAGE_TITLE_MODES:
        return value.strip().lower()
    raise ValueError("not one of the choices")


def _page_title_mode() -> str:
    return str(ga_settings.resolve_fail_closed(env.OTEL_AA_PAGE_TITLE, None, env.DEFAULT_PAGE_TITLE,
                                               parse_page_title_mode, "view_name", _TITLES_CLOSED,
                                               settings=django_setting))


def _page_title_k() -> int | None:
    value = ga_settings.resolve_fail_closed(env.OTEL_AA_PAGE_TITLE_K, None, float(env.DEFAULT_PAGE_TITLE_K),
                                            ga_settings.parse_positive_float, None, _TITLES_CLOSED,
                                            settings=django_setting)
    return None if value is None else max(2, int(value))


def _title_max_length() -> int:
    return int(ga_settings.resolve(env.OTEL_AA_TITLE_MAX_LENGTH, None, float(env.DEFAULT_TITLE_MAX_LENGTH),
                                   ga_settings.parse_positive_float, settings=django_setting))


def _analytics_disabled() -> bool | None:
    # None: unreadable, which means disabled (fail closed), reported once by resolve_fail_closed.
    value = ga_settings.resolve_fail_closed(env.ANALYTICS_DISABLED, None, env.DEFAULT_ANALYTICS_DISABLED,
                                            ga_settings.parse_bool,
                                            None, "nothing is sent to GA until it is fixed",
                                            settings=django_setting)
    return None if value is None else bool(value)


def _stats_interval() -> float:
    return float(ga_settings.resolve(ga_env.OTEL_EXPORTER_GA_STATS_INTERVAL, None,
                                     ga_env.DEFAULT_STATS_INTERVAL, ga_settings.parse_positive_float,
                                     settings=django_setting))


def _flush_timeout() -> float:
    return float(ga_settings.resolve(env.OTEL_AA_FLUSH_TIMEOUT, None, env.DEFAULT_FLUSH_TIMEOUT,
                                     ga_settings.parse_positive_float, settings=django_setting))


def _otlp_allowlist() -> bool:
    return bool(ga_settings.resolve_fail_closed(env.OTEL_AA_OTLP_ALLOWLIST, None, env.DEFAULT_OTLP_ALLOWLIST,
                                                ga_settings.parse_bool, True,
                                                "the allowlist is on until it is fixed",
                                                settings=django_setting))


def resolve() -> Config:
    """A new :class:`Config` from the settings as they are now (reports unreadable ones once)."""
    return Config(
        page_title_mode=_page_title_mode(),
        page_title_k=_page_title_k(),
        title_max_length=_title_max_length(),
        **_start_up_fields(),
    )


def _start_up_fields() -> dict[str, Any]:
    # The settings of otel-aa's start-up and lifecycle (the configurator, the lease, the flush).
    disabled = _analytics_disabled()
    return {"analytics_disabled": disabled is not False, "analytics_disabled_unreadable": disabled is None,
            "stats_interval": _stats_interval(), "flush_timeout": _flush_timeout(),
            "otlp_allowlist": _otlp_allowlist()}


_current: Config | None = None


def current() -> Config:
    """The configuration in force: resolved the first time it is asked for, then only read.

    Two threads racing the first call both resolve the same settings; either result is kept.
    """
    found = _current
    return found if found is not None else reload()


def reload() -> Config:
    """Resolve the settings again and put the result in force (start-up, tests)."""
    global _current
    _current = resolve()
    return _current
