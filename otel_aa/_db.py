"""Database connections on otel-aa's own threads.

The exporter and metric-reader threads live as long as the process and query rarely (a client id
once, tokens and counts once a day): a connection they kept would sit idle until the server drops
it (MySQL's ``wait_timeout``). So each use closes the thread's connection afterwards, unless the
thread is inside a transaction (then it is not ours to close).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from otel_aa._guard import report


def close_connections(alias: str | None = None) -> None:
    """Close this thread's connection to ``alias`` (every open one when None), unless in a transaction."""
    from django.db import connections

    opened = [connections[alias]] if alias is not None else connections.all(initialized_only=True)
    for connection in opened:
        if not connection.in_atomic_block:
            try:
                connection.close()
            except Exception as exc:  # closing a broken connection may fail too: nothing to keep
                report("closing a database connection", exc)


@contextmanager
def closing_connection(alias: str | None = None) -> Iterator[None]:
    """Run the block, then :func:`close_connections`."""
    try:
        yield
    finally:
        close_connections(alias)
