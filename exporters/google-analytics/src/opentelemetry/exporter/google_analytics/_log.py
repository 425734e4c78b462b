"""Log a message once per key, or once per key per time window."""

from __future__ import annotations

import logging
import threading
import time

_logger = logging.getLogger("opentelemetry.exporter.google_analytics")

#: How long a repeated failure stays quiet before it is logged again.
LOG_WINDOW_SECONDS = 300.0

_lock = threading.Lock()
_once: set[str] = set()
_last: dict[str, float] = {}


def log_once(key: str, level: int, msg: str, *args: object) -> bool:
    """Log ``msg`` the first time ``key`` is seen in this process. Return whether it was logged."""
    with _lock:
        if key in _once:
            return False
        _once.add(key)
    _logger.log(level, msg, *args)
    return True


def log_per_window(key: str, level: int, msg: str, *args: object) -> bool:
    """Log ``msg`` unless ``key`` was logged less than :data:`LOG_WINDOW_SECONDS` ago."""
    now = time.monotonic()
    with _lock:
        last = _last.get(key)
        if last is not None and now - last < LOG_WINDOW_SECONDS:
            return False
        _last[key] = now
    _logger.log(level, msg, *args)
    return True


def _reset() -> None:
    """Forget what was logged (tests)."""
    with _lock:
        _once.clear()
        _last.clear()
