"""Who sends the daily stats, and when: the lease protocol and a lease for one process."""

from __future__ import annotations

import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["InProcessLease", "SendLease"]


@runtime_checkable
class SendLease(Protocol):
    """Decides who sends the daily stats, and when (one send per interval per install)."""

    def due(self) -> bool:
        """Cheap check: could a send happen now? (No side effects.)"""

    def acquire(self) -> bool:
        """Atomically take the right to send now; ``False`` when not due or taken elsewhere."""

    def release(self) -> None:
        """Give the right back after a failed send, so that another attempt can happen soon."""


class InProcessLease:
    """A lease held in this process only: due at start, then once per ``interval`` seconds.

    Good for one process; an install with several processes or hosts needs a shared lease (the
    ``otel_aa`` distro provides one over Django's cache and database).
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._next_due = time.monotonic()
        self._previous_due = self._next_due

    def due(self) -> bool:
        return time.monotonic() >= self._next_due

    def acquire(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now < self._next_due:
                return False
            self._previous_due, self._next_due = self._next_due, now + self.interval
            return True

    def release(self) -> None:
        with self._lock:
            self._next_due = self._previous_due
