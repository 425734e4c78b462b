"""Log a message once per key, or once per key per time window: the one rate-limited logger.

The exporter and the otel_aa distro both log through these two functions (the distro's
``otel_aa._guard.log_once`` delegates here), so "once" means once per process whoever logs.
The SDK's ``DuplicateFilter`` (``opentelemetry.sdk._shared_internal``) is private and does
another job: it hides a record only when it repeats the one just before it, within a 20-second
bucket of wall-clock time, so two alternating failures would both flood the log.
"""

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


def log_once(key: str, level: int, msg: str, *args: object, logger: logging.Logger = _logger) -> bool:
    """Log ``msg`` the first time ``key`` is seen in this process. Return whether it was logged."""
    with _lock:
        if key in _once:
            return False
        _once.add(key)
    logger.log(level, msg, *args)
    return True


def log_per_window(key: str, level: int, msg: str, *args: object, logger: logging.Logger = _logger,
                   window: float | None = None) -> bool:
    """Log ``msg`` unless ``key`` was logged less than ``window`` seconds ago (default
    :data:`LOG_WINDOW_SECONDS`). Return whether it was logged."""
    now = time.monotonic()
    quiet = LOG_WINDOW_SECONDS if window is None else window
    with _lock:
        last = _last.get(key)
        if last is not None and now - last < quiet:
            return False
        _last[key] = now
    logger.log(level, msg, *args)
    return True


def _reset() -> None:
    """Forget what was logged (tests)."""
    with _lock:
        _once.clear()
        _last.clear()
