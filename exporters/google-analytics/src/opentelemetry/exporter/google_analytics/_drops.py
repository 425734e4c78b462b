"""What the exporters dropped because GA could not take it, counted by reason."""

from __future__ import annotations

import collections
import logging
import threading

from opentelemetry.exporter.google_analytics._log import log_per_window

__all__ = ["DropCounter"]


class DropCounter:
    """Thread-safe count of what was dropped, by reason.

    Each reason is logged once per window per process (``_log.LOG_WINDOW_SECONDS``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: collections.Counter[str] = collections.Counter()

    def add(self, reason: str, count: int = 1, *, log: bool = True) -> None:
        """Count ``count`` drops for ``reason`` (a fixed, data-free string).

        ``log=False`` when the caller has logged the cause already (a failed send): one message
        per failure, not two.
        """
        with self._lock:
            self._counts[reason] += count
            total = self._counts[reason]
        if not log:
            return
        log_per_window(
            f"drop:{reason}",
            logging.WARNING,
            "Google Analytics exporter dropped data GA could not take: %s (%d so far in this "
            "process; logged once per window)",
            reason,
            total,
        )

    def get(self, reason: str) -> int:
        with self._lock:
            return self._counts[reason]

    def snapshot(self) -> dict[str, int]:
        """All counts so far."""
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())
