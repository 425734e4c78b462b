"""The retry policy of a send: what is retryable, how long to wait, and ``Retry-After``.

A 429, a 5xx, a timeout or a refused or reset connection is retried (:class:`_Retryable`);
anything else fails at once (:class:`_Failed`). The wait is the server's ``Retry-After`` when it
gave one, else exponential backoff with jitter, never past the send's deadline
(:func:`backoff_delay`). The loop itself is :meth:`._transport._Transport._send`: a plain loop, as
OpenTelemetry's OTLP exporters have.
"""

from __future__ import annotations

import email.utils
import random
import time

__all__ = ["backoff_delay", "parse_retry_after"]


class _Retryable(Exception):
    """A retryable answer; ``retry_after`` in seconds when the server said so."""

    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


class _Failed(Exception):
    """An answer or error that retrying won't change (a 4xx, a bad URL, a TLS failure)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class _ShuttingDown(Exception):
    pass


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def backoff_delay(exc: BaseException | None, attempt_number: int, deadline: float, *,
                  initial: float, maximum: float, jitter: float) -> float:
    """Seconds to wait after failed attempt ``attempt_number`` (1-based), ending by ``deadline``."""
    hinted = exc.retry_after if isinstance(exc, _Retryable) else None
    if hinted is not None:
        delay = hinted
    else:
        delay = min(maximum, initial * (2 ** max(0, attempt_number - 1)))
        # Full jitter on top: many processes that failed together don't retry together.
        delay += random.random() * jitter * delay
    # Never sleep past the total budget: the last attempt happens at the deadline.
    remaining = deadline - time.monotonic()
    return max(0.0, min(delay, remaining))
