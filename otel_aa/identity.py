"""The install's GA ``client_id``: one random UUIDv4 per install, stable across processes.

Alliance Auth's ``AnalyticsIdentifier`` when AA is installed (so AA's dashboards keep counting
the same install), else otel-aa's own :class:`otel_aa.models.InstallIdentity` row, created on
first use. The value is cached per process. It queries the database: the exporters call it
lazily from their export thread, never on a request or task thread.
"""

from __future__ import annotations

import logging
import threading

from otel_aa import compat

__all__ = ["client_id"]

_logger = logging.getLogger(__name__)
_lock = threading.Lock()
_cached: str | None = None


def client_id() -> str:
    """Return the install's ``client_id`` (cached after the first successful read).

    Raises when the database can't be read; the exporter then logs it, sends that export under
    the process's random id, and asks again at the next export (nothing is cached until a read
    succeeds).
    """
    global _cached
    if _cached is not None:
        return _cached
    with _lock:
        if _cached is None:
            _cached = compat.aa_client_id() or _own_identifier()
        return _cached


def _own_identifier() -> str:
    from otel_aa._db import close_connections
    from otel_aa.models import InstallIdentity

    try:
        row = InstallIdentity.objects.order_by("pk").first()
        if row is None:
            # A fixed primary key makes the database settle a race between processes: the
            # loser's insert fails and get_or_create() reads the winner's row.
            row, _ = InstallIdentity.objects.get_or_create(pk=1)
        return str(row.identifier.hex)  # the form AA's own identifier is sent in
    finally:
        close_connections()  # this runs on an exporter thread


def _reset_cache() -> None:
    """Forget the cached value (tests)."""
    global _cached
    with _lock:
        _cached = None
