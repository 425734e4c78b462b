"""The daily-stats lease: one send per interval for the whole install, however many processes run.

:class:`DjangoLease` is the GA metric exporter's :class:`~opentelemetry.exporter.google_analytics.
metric_exporter.SendLease` for the daily statistics (:mod:`otel_aa._stats`), held in Django's cache
(an atomic ``add``; Redis in Alliance Auth) or, when that cache is private to each process, in the
database (:class:`otel_aa.models.StatsLease`, see :mod:`otel_aa._lease_row`).
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

from otel_aa._config import current as current_config
from otel_aa._db import may_read
from otel_aa._guard import report
from otel_aa._lease_row import _LeaseRow

__all__ = [
    "DEFAULT_CACHE_ALIAS",
    "DEFAULT_LEASE_KEY",
    "PER_PROCESS_CACHE_BACKENDS",
    "DjangoLease",
    "LeaseSchedule",
]

#: The cache key (after the cache's own ``KEY_PREFIX``) and ``StatsLease`` key of the lease.
DEFAULT_LEASE_KEY = "otel_aa.daily_stats.lease"

#: The Django cache that holds the lease.
DEFAULT_CACHE_ALIAS = "default"

#: Cache backends whose ``add`` is not atomic across processes: each process (LocMemCache), or
#: none (DummyCache), has its own, or ``add`` is a check-then-write (FileBasedCache). With one of
#: these the lease lives in the database instead.
PER_PROCESS_CACHE_BACKENDS: tuple[str, ...] = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
    "django.core.cache.backends.filebased.FileBasedCache",
)

_LEASE_WHERE = "daily-stats lease"


def _apps_ready() -> bool:
    """Whether Django's app registry is loaded: before that, models and caches can't be used.

    A slow start-up (a big site, a loaded host) can put the daily-stats reader's first check
    before ``django.setup()`` has finished; that check just isn't due yet, nothing failed.
    """
    from django.apps import apps

    return bool(apps.ready)


def _app_removed() -> bool:
    # Without the otel_aa app this process sends no daily stats (the README's opt-out); the
    # warning saying so is logged once by otel_aa._startup.
    from otel_aa._startup import ga_blocked

    return ga_blocked()


def _counts_readable() -> bool:
    """Whether the counts may read their database now (:func:`otel_aa._db.may_read`).

    The lease is not due without it: a daily-stats send without its counts would be wrong.
    """
    from django.contrib.auth import get_user_model
    from django.db import router

    try:
        return may_read(router.db_for_read(get_user_model()))
    except Exception as exc:  # no user model readable: no counts either
        report("daily stats: finding the counts' database", exc)
        return False


class LeaseSchedule(NamedTuple):
    """What :meth:`DjangoLease.schedule` reads: the daily-stats send's last and next time (UTC)."""

    #: No send within the interval: the next export cycle (at most a minute away) sends.
    due: bool
    #: When the lease was last taken (the send made then), if known.
    last_send: _dt.datetime | None
    #: When the lease runs out and the next send is due (None while ``due``).
    next_due: _dt.datetime | None


def _holder_time(holder: str) -> _dt.datetime | None:
    _, sep, stamp = holder.rpartition("@")
    if not sep:
        return None
    try:
        return _dt.datetime.fromtimestamp(float(stamp), tz=_dt.timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def _aware(moment: _dt.datetime) -> _dt.datetime:
    # With USE_TZ = False the row holds naive local time (see _LeaseRow._now).
    if moment.tzinfo is None:
        from django.utils import timezone

        moment = timezone.make_aware(moment)
    return moment.astimezone(_dt.timezone.utc)


class DjangoLease(_LeaseRow):
    """The daily-stats ``SendLease``: one send per ``interval`` seconds for the whole install.

    - :meth:`due` is cheap (one cache ``get``, or one indexed ``exists()`` in the database
      fallback): no send went out in the last ``interval`` seconds.
    - :meth:`acquire` takes the lease atomically: ``cache.add(key, holder, timeout=interval)``,
      which one process of the install wins; or, with a per-process cache (see
      :data:`PER_PROCESS_CACHE_BACKENDS`), a conditional ``UPDATE ... WHERE expires_at <= now``
      of the ``StatsLease`` row, or its ``INSERT`` (a duplicate key loses the race).
    - :meth:`release` gives the lease back after a failed send, so the next cycle retries.

    Taking the lease is what marks the send as done: a process started inside the interval finds
    it taken and sends nothing. A cache or database that fails answers "not due" / "not taken"
    (no send this cycle), logged once, never raised.

    ``interval`` defaults to :envvar:`OTEL_EXPORTER_GA_STATS_INTERVAL` (:mod:`otel_aa._config`).
    ``clock`` (seconds since the epoch) dates the database lease; the cache lease expires by the
    cache's own clock.
    """

    def __init__(
        self,
        interval: float | None = None,
        *,
        key: str = DEFAULT_LEASE_KEY,
        cache_alias: str = DEFAULT_CACHE_ALIAS,
        using: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._interval = interval
        self.key = key
        self.cache_alias = cache_alias
        self.using = using
        self.clock = clock
        self._holder: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"DjangoLease(interval={self._interval!r}, key={self.key!r}, cache_alias={self.cache_alias!r})"

    @property
    def interval(self) -> float:
        """Seconds between two sends."""
        # Resolved once (otel_aa._config), not at each of the lease's questions.
        return self._interval if self._interval is not None else current_config().stats_interval

    @property
    def backend(self) -> Literal["cache", "database"]:
        """Where the lease lives: ``cache`` when the cache is shared by processes, else ``database``."""
        from django.conf import settings

        config = settings.CACHES.get(self.cache_alias) or {}
        if config.get("BACKEND") in PER_PROCESS_CACHE_BACKENDS:
            return "database"
        return "cache"

    # -- the SendLease protocol --

    def due(self) -> bool:
        """Whether no send went out within the interval (a cheap read; False when it cannot tell)."""
        if not _apps_ready():
            return False  # the reader's first check can come before django.setup() is done
        if _app_removed():
            return False
        if not _counts_readable():
            return False  # e.g. after a test runner dropped its test database
        try:
            if self.backend == "cache":
                return self._cache().get(self.key) is None
            return self._db_due()
        except Exception as exc:
            report(_LEASE_WHERE, exc)
            return False

    def acquire(self) -> bool:
        """Take the lease for one interval; True in exactly one process of the install."""
        if not _apps_ready() or _app_removed() or not _counts_readable():
            return False
        holder = self._new_holder()
        try:
            if self.backend == "cache":
                taken = bool(self._cache().add(self.key, holder, timeout=self._timeout()))
            else:
                taken = self._db_acquire(holder)
        except Exception as exc:
            report(_LEASE_WHERE, exc)
            return False
        if taken:
            with self._lock:
                self._holder = holder
        return taken

    def release(self) -> None:
        """Give the lease back (after a failed send) if this process still holds it."""
        with self._lock:
            holder, self._holder = self._holder, None
        if holder is None:
            return
        try:
            if self.backend == "cache":
                cache = self._cache()
                # Not atomic, but only a lease that expired during the failed send could be
                # someone else's by now, and then the next cycle retries anyway.
                if cache.get(self.key) == holder:
                    cache.delete(self.key)
            else:
                self._db_release(holder)
        except Exception as exc:
            report(_LEASE_WHERE, exc)

    # -- for ``manage.py otel_aa_stats --send`` --

    def renew(self) -> bool:
        """Take the lease now, whoever held it: a send made by hand starts a new interval."""
        holder = self._new_holder()
        try:
            if self.backend == "cache":
                self._cache().set(self.key, holder, timeout=self._timeout())
            else:
                self._db_renew(holder)
        except Exception as exc:
            report(_LEASE_WHERE, exc)
            return False
        with self._lock:
            self._holder = holder
        return True

    # -- for ``otel_aa_stats`` and the admin --

    def schedule(self) -> LeaseSchedule | None:
        """When the last daily-stats send was made and when the next is due; None if unreadable.

        Read-only (one cache ``get`` or one row); never raises. A lease taken by an older
        otel-aa, whose holder carries no time, gives ``last_send`` None.
        """
        if not _apps_ready():
            return None
        try:
            if self.backend == "cache":
                holder = self._cache().get(self.key)
                expires = None
            else:
                holder, expires = self._db_lease()
        except Exception as exc:
            report(_LEASE_WHERE, exc)
            return None
        if holder is None:
            return LeaseSchedule(due=True, last_send=None, next_due=None)
        taken = _holder_time(str(holder))
        interval = _dt.timedelta(seconds=self.interval)
        if expires is not None:
            expires = _aware(expires)
        elif taken is not None:
            expires = taken + interval
        return LeaseSchedule(due=False, last_send=taken, next_due=expires)

    # -- internals --

    def _new_holder(self) -> str:
        # The acquisition time travels with the holder, so schedule() can tell the last send
        # from the cache value alone (Django's cache API has no TTL read).
        return f"{os.getpid()}-{uuid.uuid4().hex}@{self.clock():.3f}"

    def _timeout(self) -> int:
        # Cache timeouts are whole seconds in most backends; never round a short test interval
        # down to 0 (which means "expire now" or "never", depending on the backend).
        return max(1, round(self.interval))

    def _cache(self) -> Any:
        from django.core.cache import caches

        return caches[self.cache_alias]
