"""What the pipeline tells a delivery observer, and how extra destinations join the configured ones."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any, Protocol

from opentelemetry.exporter.google_analytics._drops import DropCounter
from opentelemetry.exporter.google_analytics._log import log_per_window
from opentelemetry.exporter.google_analytics._tokens import Token


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


def admission(token: Token) -> Token:
    """What decides which events ``token`` admits: the token without its destination and name.

    Tokens with equal admissions admit the same events, so their request bodies are the same
    bytes (only the URL's query differs): the pipeline builds them once for all such tokens.
    Every field but the three left blank is kept, so a flag added later can't be overlooked.
    """
    return dataclasses.replace(token, name="", measurement_id="", api_secret="")
