"""Where a setting's value comes from (public: the otel_aa distro resolves its own settings alike).

Precedence, as in OpenTelemetry's own exporters plus Django: constructor argument > environment
variable > Django setting of the same name (only when ``django.conf.settings.configured``) >
``DEFAULT_*`` constant. Everything is read at call time, so ``override_settings`` works.
Django is never imported here: if the host process has not imported it, it is not configured.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from opentelemetry.exporter.google_analytics._log import log_once

__all__ = [
    "django_setting",
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


def django_setting(name: str) -> Any:
    """Return Django setting ``name``, or a sentinel (``_MISSING``) when absent or unconfigured."""
    conf = sys.modules.get("django.conf")
    if conf is None:
        return _MISSING
    try:
        settings = conf.settings
        if not settings.configured:
            return _MISSING
        return getattr(settings, name, _MISSING)
    except Exception:  # a half-configured Django must not break the exporter
        return _MISSING


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
    """Comma-separated regexes (a string), or a list of them (a Django setting)."""
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
) -> _T:
    """Return the value of setting ``name``: ``argument`` > env > Django setting > ``default``.

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
    setting = django_setting(name)
    if setting is not _MISSING and setting is not None:
        value = _parse(name, "Django setting", setting, parse)
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
        setting = django_setting(name)
        if setting is _MISSING or setting is None:
            return default
        source, value = "Django setting", setting
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
