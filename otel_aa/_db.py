"""Database access from otel-aa's own threads, and which databases the host itself uses.

otel-aa's threads (exporters, the daily-stats reader, the exit flush) only read, rarely (the
install's identity once, tokens every half minute, counts once a day), and never a database the
host isn't using: :func:`may_read` decides. :func:`host_uses` is true for an alias once a
connection to the database it points at now was opened outside otel-aa's own reads; such a
database may be read. So may one the host hasn't opened yet in this process (a Celery worker
whose tasks never touch the database still sends their events, a gunicorn worker its daily
stats), unless connecting would create it (a missing SQLite file, an in-memory database) or a
test runner is about to swap it for its test database. Once the host moved an alias off the
database it used (a test runner dropped its test database and pointed the alias back at the
configured one), otel-aa queries nothing there: no errors at exit, no empty SQLite file.

:func:`reading` wraps each of otel-aa's reads. It closes the thread's connection afterwards
(a kept one would sit idle until the server drops it, MySQL's ``wait_timeout``) unless the thread
is inside a transaction (then it is not ours to close). On SQLite it sets ``read_uncommitted`` on
the connections it opens: in shared-cache mode (Django's in-memory test database) a reader's
table lock makes the host's writes on that table fail at once ("database table is locked");
outside shared-cache mode the pragma changes nothing.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from otel_aa._guard import report

__all__ = ["close_connections", "closing_connection", "host_uses", "may_read", "reading"]

_local = threading.local()
#: (alias, database name) pairs the host has opened a connection to, in this process.
_host_databases: set[tuple[str, str]] = set()
_connected = False


def _key(connection: Any) -> tuple[str, str]:
    return connection.alias, str(connection.settings_dict.get("NAME"))


def _on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    # Runs on the host's threads at each new connection: a set insert, nothing more.
    if getattr(_local, "ours", 0):
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA read_uncommitted = 1")
        return
    _host_databases.add(_key(connection))


def watch_connections() -> None:
    """Start noting the host's connections (idempotent; AppConfig.ready and first import)."""
    global _connected
    if _connected:
        return
    from django.db.backends.signals import connection_created

    connection_created.connect(_on_connection_created, dispatch_uid="otel_aa._db.host_uses")
    _connected = True


def host_uses(alias: str = "default") -> bool:
    """Whether the host has used, in this process, the database ``alias`` points at now."""
    from django.db import connections

    try:
        return _key(connections[alias]) in _host_databases
    except Exception:  # an alias that isn't configured is not one the host uses
        return False


def may_read(alias: str = "default") -> bool:
    """Whether otel-aa may read ``alias`` now (see the module's docstring)."""
    from django.db import connections

    try:
        connection = connections[alias]
        key = _key(connection)
    except Exception:  # an alias that isn't configured can't be read
        return False
    if key in _host_databases:
        return True
    if any(used == alias for used, _ in _host_databases):
        return False  # the host left the database it used here: not one to start on now
    if _test_environment():
        return False  # a test runner's: its test database replaces this one soon
    if connection.vendor != "sqlite":
        return True
    name = key[1]
    if name == ":memory:" or name.startswith("file:") or "mode=memory" in name:
        return False  # an in-memory database the host hasn't opened would be a new, empty one
    return os.path.exists(name)  # connecting to a missing file would create it


def _test_environment() -> bool:
    # Set by django.test.utils.setup_test_environment(), which test runners call first, so the
    # module is imported already wherever it is set. Never imported here: this runs on export
    # threads, and a process forked (a Celery prefork child) while one of them held the import's
    # module lock would inherit it held and wait on it for ever.
    utils = sys.modules.get("django.test.utils")
    return hasattr(getattr(utils, "_TestState", None), "saved_data")


def _note_host_use(alias: str = "default") -> None:
    """Count ``alias``'s current database as the host's (a command the admin ran; tests)."""
    from django.db import connections

    _host_databases.add(_key(connections[alias]))


@contextmanager
def reading(alias: str | None = None) -> Iterator[None]:
    """Run otel-aa's own queries: its connections are not the host's, and are closed after."""
    _local.ours = getattr(_local, "ours", 0) + 1
    try:
        yield
    finally:
        _local.ours -= 1
        close_connections(alias)


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
    """Run the block, then :func:`close_connections` (otel-aa's own reads: see :func:`reading`)."""
    with reading(alias):
        yield
