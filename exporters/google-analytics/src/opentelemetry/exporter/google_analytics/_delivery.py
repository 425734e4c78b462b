"""What the pipeline tells a delivery observer, and how extra destinations join the configured ones."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from opentelemetry.exporter.google_analytics._log import log_per_window
from opentelemetry.exporter.google_analytics.drops import DropCounter
from opentelemetry.exporter.google_analytics.tokens import Token


class DeliveryObserver(Protocol):
    """Told, on the export thread, what each send did; for a ledger of what left the process.

    ``on_delivery(token, body, outcome, reason)``: after each request body for ``token``;
    ``outcome`` is ``"sent"`` or ``"failed"`` (``reason`` says why, a fixed data-free text).
    An observer may also have ``on_drop(reason, count)``: data dropped, counted by reason.
    Whatever an observer raises is logged per window and never breaks the export.
    """

    def on_delivery(self, token: Token, body: bytes, outcome: str, reason: str | None) -> None: ...


def guarded(method: Callable[..., Any]) -> Callable[..., None]:
    """``method``, with whatever it raises logged (type only, once per window) and swallowed."""
    def call(*args: Any) -> None:
        try:
            method(*args)
        except Exception as exc:
            log_per_window("delivery_observer", logging.WARNING,
                           "Google Analytics exporter: the delivery observer failed (%s); "
                           "delivery is unaffected", type(exc).__name__)
    return call


class ObservedDrops(DropCounter):
    """A drop counter that also tells the delivery observer."""

    def __init__(self, listener: Callable[[str, int], None]) -> None:
        super().__init__()
        self._listener = listener

    def add(self, reason: str, count: int = 1, *, log: bool = True) -> None:
        super().add(reason, count, log=log)
        self._listener(reason, count)


def drop_counter(observer: DeliveryObserver | None) -> DropCounter:
    on_drop = getattr(observer, "on_drop", None)
    return ObservedDrops(guarded(on_drop)) if callable(on_drop) else DropCounter()


def merge_tokens(configured: list[Token], extra: list[Token]) -> list[Token]:
    """``configured`` plus ``extra``; a destination in both is sent to once, the side sending less.

    A destination is its (measurement id, API secret). When both lists hold it, the configured
    token keeps its name, each stream flag is on only where both have it on, and the ignore rules
    of both apply: switching a stream off in either place switches it off.
    """
    if not extra:
        return configured
    by_key = {(t.measurement_id, t.api_secret): t for t in extra}
    merged = []
    for token in configured:
        other = by_key.pop((token.measurement_id, token.api_secret), None)
        if other is not None:
            token = Token(token.name, token.measurement_id, token.api_secret,
                          token.page_views and other.page_views,
                          token.celery_events and other.celery_events,
                          token.daily_stats and other.daily_stats,
                          token.ignore_paths + tuple(p for p in other.ignore_paths
                                                     if p not in token.ignore_paths),
                          # Counts send less than an event per run: either side asking wins.
                          token.aggregate_celery_events or other.aggregate_celery_events)
        merged.append(token)
    return merged + list(by_key.values())
