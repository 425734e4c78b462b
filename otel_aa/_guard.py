"""The guard every otel-aa hook body runs inside.

Whatever otel-aa does on a request, task, signal or start-up path must never raise into the host
app. :func:`guarded` logs the exception once per call site (type only: exception texts may hold
private data) and swallows it. Tests register a listener with :func:`_add_listener` and re-raise
what the guard caught, so bugs cannot hide behind it.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from opentelemetry.exporter.google_analytics import log_once as _exporter_log_once

_logger = logging.getLogger("otel_aa")

_F = TypeVar("_F", bound=Callable[..., Any])

_listeners: list[Callable[[BaseException], None]] = []


def _add_listener(listener: Callable[[BaseException], None]) -> None:
    _listeners.append(listener)


def _remove_listener(listener: Callable[[BaseException], None]) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def log_once(key: str, level: int, msg: str, *args: object, logger: logging.Logger = _logger) -> None:
    """Log ``msg`` to ``logger`` the first time ``key`` is seen in this process (the exporter's
    rate-limited logging, :func:`opentelemetry.exporter.google_analytics.log_once`, keeps the keys)."""
    _exporter_log_once(f"otel_aa:{key}", level, msg, *args, logger=logger)


def report(where: str, exc: BaseException) -> None:
    """Log ``exc`` caught at ``where`` once, without its message, and tell the listeners."""
    # The message is left out on purpose: it may quote a user name, a path or a secret.
    log_once(
        f"guard:{where}",
        logging.ERROR,
        "otel-aa: %s failed with %s; analytics for this part may be incomplete "
        "(reported once per place)",
        where,
        type(exc).__name__,
    )
    for listener in list(_listeners):
        listener(exc)


def guarded(where: str, default: Any = None) -> Callable[[_F], _F]:
    """Decorate a hook so that any exception is reported by :func:`report` and ``default`` returned."""

    def decorate(func: _F) -> _F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as exc:
                report(where, exc)
                return default

        return wrapper  # type: ignore[return-value]

    return decorate
