"""The ``client_id`` hits are sent under: the configured one, else this process's random one."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable

from opentelemetry.exporter.google_analytics._log import log_per_window

__all__ = ["process_client_id", "read_client_id"]

_process_client_id = str(uuid.uuid4())


def _new_process_client_id() -> None:
    global _process_client_id
    _process_client_id = str(uuid.uuid4())


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_process_client_id)


def process_client_id() -> str:
    """This process's random ``client_id`` (UUIDv4), used when none is configured."""
    return _process_client_id


def read_client_id(source: str | Callable[[], str | None]) -> str | None:
    """The configured ``client_id`` (a string, or what the callable returns now); ``None``: not
    known yet, because the callable returned ``None``, raised, or gave no non-empty string."""
    try:
        value = source() if callable(source) else source
    except Exception as exc:
        log_per_window("client_id", logging.WARNING,
                       "Google Analytics exporter: the client_id callable failed (%s); events "
                       "wait for it (dropped, counted) until it answers", type(exc).__name__)
        return None
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        log_per_window("client_id-type", logging.WARNING,
                       "Google Analytics exporter: the client_id is not a non-empty string; "
                       "nothing is sent until it is one")
        return None
    return value
