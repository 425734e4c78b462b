"""Where a setting's value comes from (public: the otel_aa distro resolves its own settings alike).

Precedence, as in OpenTelemetry's own exporters: constructor argument > environment variable >
host setting of the same name > ``DEFAULT_*`` constant. The exporter knows no framework: "host
settings" are whatever the application hands in as ``settings`` (:data:`HostSettings`), e.g.
``settings=app.config`` (Flask, a mapping) or ``settings=lambda name: getattr(django_settings,
name, None)`` (the otel_aa distro passes one over Django's settings). Values are read when
called: the exporters call these once, at construction and at
:func:`~opentelemetry.exporter.google_analytics._config.reload_settings`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from opentelemetry.exporter.google_analytics._log import log_once

__all__ = [
    "HostSettings",
    "host_setting",
    "parse_bool",
    "parse_path_list",
    "parse_positive_float",
    "parse_str",
    "resolve",
    "resolve_fail_closed",
]

_T = TypeVar("_T")

_MISSING = object()

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})

#: The host application's settings: a mapping (name -> value), or a callable taking a setting's
#: name and returning its value, ``None`` when the host has no such setting. A lookup that raises
#: (settings not loaded yet) counts as "no such setting".
HostSettings = Callable[[str], Any] | Mapping[str, Any]

#: How a host setting is named in messages.
_HOST = "setting"


def host_setting(settings: HostSettings | None, name: str) -> Any:
    """Host setting ``name`` from ``settings``, or ``None`` when absent (or the lookup failed)."""
    if settings is None:
        return None
    try:
        if isinstance(settings, Mapping):
            return settings.get(name)
        return settings(name)
    except Exception:  # a host whose settings are half-loaded must not break the exporter
        return None


def parse_bool(value: Any) -> bool:
    """``true``/``false``, ``1``/``0``, ``yes``/``no``, ``on``/``off`` (any case), or a bool."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        # Only 0 and 1: "2" or 2 is a typo, not a choice, and a switch must not guess its side.
        if value in (0, 1):
            return bool(value)
        raise ValueError("not a boolean")
    if not isinstance(value, str):
        raise ValueError("not a boolean")
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("not a boolean")


def parse_positive_float(value: Any) -> float:
    """A number of seconds greater than zero."""
    if isinstance(value, bool):
        raise ValueError("not a number")
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError("not a positive number")
    return number


def parse_str(value: Any) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("not a non-empty string")
    return value.strip()


def parse_path_list(value: Any) -> tuple[str, ...]:
    """Comma-separated regexes (a string), or a list of them (a host setting)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, (list, tuple)) and all(isinstance(part, str) for part in value):
        return tuple(value)
    raise ValueError("not a list of regular expressions")


def resolve(
    name: str,
    argument: _T | None,
    default: _T,
    parse: Callable[[Any], _T] | None = None,
    *,
    settings: HostSettings | None = None,
) -> _T:
    """Return the value of setting ``name``: ``argument`` > env > ``settings`` > ``default``.

    A value that ``parse`` rejects is reported once (without the value: it may be a secret) and
    the next source is tried.
    """
    if argument is not None:
        return argument
    raw = os.environ.get(name)
    if raw is not None and raw.strip() != "":
        value = _parse(name, "environment variable", raw, parse)
        if value is not _MISSING:
            return value
    setting = host_setting(settings, name)
    if setting is not None:
        value = _parse(name, _HOST, setting, parse)
        if value is not _MISSING:
            return value
    return default


def resolve_fail_closed(
    name: str,
    argument: _T | None,
    default: _T,
    parse: Callable[[Any], _T],
    closed: Any,
    closed_means: str,
    *,
    settings: HostSettings | None = None,
) -> Any:
    """Like :func:`resolve`, for a switch or destination that must fail closed.

    The first source that holds a value decides, readable or not: an unreadable one is reported
    once (the setting's name, why, and ``closed_means``; never the value) and ``closed`` is
    returned, the side that sends less (``True`` for a kill switch, ``False`` for a stream flag,
    ``None`` for a destination). Falling through to the next source or the default would turn a
    typo in an opt-out into an opt-in.
    """
    if argument is not None:
        return argument
    raw = os.environ.get(name)
    if raw is not None and raw.strip() != "":
        source, value = "environment variable", raw
    else:
        setting = host_setting(settings, name)
        if setting is None:
            return default
        source, value = _HOST, setting
    parsed = _parse(name, source, value, parse, closed_means)
    return closed if parsed is _MISSING else parsed


def _parse(name: str, source: str, raw: Any, parse: Callable[[Any], Any] | None,
           consequence: str = "it is ignored") -> Any:
    if parse is None:
        return raw
    try:
        return parse(raw)
    except (TypeError, ValueError) as exc:
        # The exception text is kept out on purpose: parsers may quote the value.
        log_once(
            f"setting:{name}:{source}",
            logging.ERROR,
            "Google Analytics exporter: the %s %s is invalid (%s); %s",
            source,
            name,
            _reason(exc),
            consequence,
        )
        return _MISSING


def _reason(exc: BaseException) -> str:
    text = str(exc)
    return text if text in _REASONS else type(exc).__name__


#: Reasons a parser may give that quote no value, so they can be logged.
_REASONS = frozenset({"not a boolean", "not a number", "not a positive number", "not a non-empty string",
                      "not a list of regular expressions", "not a URL string", "not a valid URL",
                      "not an http or https URL", "a URL without a host", "not one of the choices"})
