"""The daily install statistics, as OpenTelemetry observable gauges, and the once-a-day lease.

What Alliance Auth's ``analytics_daily_stats`` beat task used to count, any metrics backend can
now read: :func:`register_gauges` adds these gauges to a ``MeterProvider``.

=========================  ===========  ====================================================
metric                     unit         value (attributes)
=========================  ===========  ====================================================
``aa.install.existence``   ``1``        1 (``aa.install.kind``: ``docker`` or ``baremetal``)
``aa.users``               ``{user}``   number of users
``aa.esi.tokens``          ``{token}``  number of ESI tokens (only with ``esi`` installed)
``aa.apps``                ``{app}``    number of installed Django apps, all of them, as AA counts
``aa.app.installed``       ``1``        1 per installed non-core app (``aa.app.label``)
``aa.version``             ``1``        1 (``aa.version``: the running Alliance Auth version)
=========================  ===========  ====================================================

The gauges' callbacks run when a metric reader collects, on that reader's own thread, never on a
request or task thread. Each count is one ``count()`` query; a database that is down or not yet
migrated skips that observation (logged once) and raises nothing.

The GA metric exporter sends these to Google Analytics once a day per install, however many
processes run: :class:`DjangoLease` is its :class:`~opentelemetry.exporter.google_analytics.
metric_exporter.SendLease`, held in Django's cache (an atomic ``add``; Redis in Alliance Auth) or,
when that cache is private to each process, in the database (:class:`otel_aa.models.StatsLease`).
Other readers (``OTEL_METRICS_EXPORTER=ga,otlp``) read the same gauges at their own interval.

Alliance Auth's own ``analytics_daily_stats`` beat task would send the same counts to AA's tokens
a second time: :func:`check_daily_stats_beat` (a system check) warns while it is scheduled.
"""

from __future__ import annotations

import datetime as _dt
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple

from opentelemetry.exporter.google_analytics import environment_variables as _ga_env
from opentelemetry.exporter.google_analytics.attributes import (
    ATTR_APP_LABEL,
    ATTR_INSTALL_KIND,
    ATTR_VERSION,
    METRIC_APP_INSTALLED,
    METRIC_APPS,
    METRIC_ESI_TOKENS,
    METRIC_INSTALL_EXISTENCE,
    METRIC_USERS,
    METRIC_VERSION,
)
from opentelemetry.exporter.google_analytics.settings import parse_positive_float, resolve
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter_provider

from otel_aa import __version__
from otel_aa._db import closing_connection, may_read
from otel_aa._guard import guarded, report

__all__ = [
    "AA_CORE_APP_LABELS",
    "CORE_APP_LABELS",
    "DAILY_STATS_BEAT_TASK",
    "DEFAULT_CACHE_ALIAS",
    "DEFAULT_LEASE_KEY",
    "DJANGO_CONTRIB_APP_LABELS",
    "INFRASTRUCTURE_APP_LABELS",
    "PER_PROCESS_CACHE_BACKENDS",
    "DjangoLease",
    "LeaseSchedule",
    "check_daily_stats_beat",
    "extension_labels",
    "install_kind",
    "installed_extensions",
    "register_checks",
    "register_gauges",
]


# --- what is not an extension ---------------------------------------------------------------------

#: Alliance Auth's own apps, by app label, which ``send_extension_stats`` leaves out.
#:
#: The first group is the list in AA 5.5's ``allianceauth/analytics/tasks.py``, written correctly:
#: there a missing comma after ``"notifications"`` joins it to ``"eveonline"`` as
#: ``"notificationseveonline"``, so AA reports both core apps as extensions. ``users``, ``addons``
#: and ``tokens`` are kept from that list although no AA 5 app has those labels, so an older app
#: that still does is counted the same way. The second group is the rest of the apps in AA's
#: project template (``INSTALLED_APPS`` of ``settings/base.py``), which AA's list predates. AA's
#: optional modules (``corputils``, ``srp``, ``discord``, ...) are features an admin chooses to
#: install, so they count as extensions, as in AA.
AA_CORE_APP_LABELS: frozenset[str] = frozenset(
    {
        # AA 5.5 analytics list (comma fixed)
        "django_celery_beat",
        "messages",
        "sessions",
        "auth",
        "staticfiles",
        "users",
        "addons",
        "admin",
        "humanize",
        "contenttypes",
        "sortedm2m",
        "django_bootstrap5",
        "tokens",
        "authentication",
        "services",
        "framework",
        "notifications",
        "eveonline",
        "navhelper",
        "analytics",
        "menu",
        "theme",
        # the rest of AA's project template
        "allianceauth",
        "admin_status",
        "groupmanagement",
        "crontab",
        "custom_css",
        "bootstrap",
        "darkly",
        "flatly",
        "materia",
    }
)

#: Django's own ``django.contrib`` apps: part of the framework, not something an admin adds.
DJANGO_CONTRIB_APP_LABELS: frozenset[str] = frozenset(
    {
        "admin",
        "admindocs",
        "auth",
        "contenttypes",
        "flatpages",
        "gis",
        "humanize",
        "messages",
        "postgres",
        "redirects",
        "sessions",
        "sitemaps",
        "sites",
        "staticfiles",
        "syndication",
    }
)

#: Third-party apps Alliance Auth itself depends on and lists in its project template, and this
#: package: infrastructure every install has, so they say nothing about what it added.
INFRASTRUCTURE_APP_LABELS: frozenset[str] = frozenset(
    {
        "django_celery_beat",
        "django_bootstrap5",
        "sortedm2m",
        "solo",  # django-solo
        "esi",  # django-esi
        "sri",  # django-sri
        "otel_aa",
    }
)

#: Every app label that is not reported as an installed extension.
CORE_APP_LABELS: frozenset[str] = AA_CORE_APP_LABELS | DJANGO_CONTRIB_APP_LABELS | INFRASTRUCTURE_APP_LABELS


def extension_labels(labels: Iterable[str]) -> list[str]:
    """The labels in ``labels`` that are not :data:`CORE_APP_LABELS`, in their order."""
    return [label for label in labels if label not in CORE_APP_LABELS]


def installed_extensions() -> list[str]:
    """Labels of the installed Django apps that are not core apps (empty before apps are ready)."""
    from django.apps import apps

    if not apps.ready:
        return []
    return extension_labels(config.label for config in apps.get_app_configs())


def install_kind() -> Literal["docker", "baremetal"]:
    """``docker`` when ``AA_DOCKER_TAG`` is set (environment, else Django setting), else ``baremetal``.

    AA's Docker images set ``AA_DOCKER_TAG``; AA's own stats read it the same way.
    """
    tag = resolve("AA_DOCKER_TAG", None, "", _parse_tag)
    return "docker" if tag else "baremetal"


def _parse_tag(value: Any) -> str:
    return str(value).strip()


# --- the gauges -----------------------------------------------------------------------------------

_METER_NAME = "otel_aa.stats"
_registered: weakref.WeakSet[Any] = weakref.WeakSet()
_registered_lock = threading.Lock()


def _count(where: str, get_model: Callable[[], Any]) -> list[Observation]:
    """One ``count()`` observation, or none when the database is down or not migrated.

    The connection is closed after use (:mod:`otel_aa._db`). ``DatabaseError`` (down, not
    migrated) is reported once and skipped.
    """
    from django.apps import apps
    from django.db import DatabaseError, router

    if not apps.ready:
        return []
    model = get_model()
    alias = router.db_for_read(model)
    if not may_read(alias):
        # Not a database the host uses (e.g. at exit, after a test runner dropped its test
        # database and pointed the alias back at the configured one): nothing to count.
        return []
    try:
        with closing_connection(alias):
            return [Observation(model._default_manager.count())]
    except DatabaseError as exc:
        report(where, exc)
        return []


def _counts_readable() -> bool:
    """Whether the counts may read their database now (:func:`otel_aa._db.may_read`).

    The lease is not due without it: a daily-stats send without its counts would be wrong.
    """
    from django.db import router

    try:
        return may_read(router.db_for_read(_user_model()))
    except Exception as exc:  # no user model readable: no counts either
        report("daily stats: finding the counts' database", exc)
        return False


def _user_model() -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model()


def _esi_token_model() -> Any:
    from django.apps import apps

    return apps.get_model("esi", "Token")


def _esi_installed() -> bool:
    from django.apps import apps

    return apps.ready and apps.is_installed("esi")


@guarded("daily stats: install existence", default=[])
def _observe_existence(options: CallbackOptions) -> list[Observation]:
    return [Observation(1, {ATTR_INSTALL_KIND: install_kind()})]


@guarded("daily stats: user count", default=[])
def _observe_users(options: CallbackOptions) -> list[Observation]:
    return _count("daily stats: counting users", _user_model)


@guarded("daily stats: ESI token count", default=[])
def _observe_esi_tokens(options: CallbackOptions) -> list[Observation]:
    if not _esi_installed():
        return []
    return _count("daily stats: counting ESI tokens", _esi_token_model)


@guarded("daily stats: app count", default=[])
def _observe_apps(options: CallbackOptions) -> list[Observation]:
    from django.apps import apps

    if not apps.ready:
        return []
    # AA's own task counts every app config; the same figure keeps AA's dashboard comparable.
    return [Observation(len(apps.get_app_configs()))]


@guarded("daily stats: installed apps", default=[])
def _observe_app_installed(options: CallbackOptions) -> list[Observation]:
    return [Observation(1, {ATTR_APP_LABEL: label}) for label in installed_extensions()]


@guarded("daily stats: version", default=[])
def _observe_version(options: CallbackOptions) -> list[Observation]:
    version = _aa_version()
    if not version:
        return []
    return [Observation(1, {ATTR_VERSION: version})]


def _aa_version() -> str | None:
    from otel_aa import compat

    return compat.aa_version()


def register_gauges(meter_provider: MeterProvider | None = None) -> None:
    """Add the daily-stats gauges to ``meter_provider`` (default: the global one). Idempotent.

    Creating the instruments needs neither Django's app registry nor the database: the callbacks
    look at both when a reader collects, so this may run before ``django.setup()``.
    """
    provider = meter_provider if meter_provider is not None else get_meter_provider()
    with _registered_lock:
        try:
            if provider in _registered:
                return
            _registered.add(provider)
        except TypeError:  # a provider that can't be weakly referenced is simply not remembered
            pass
    meter = provider.get_meter(_METER_NAME, __version__)
    for name, callback, unit, description in _GAUGES:
        meter.create_observable_gauge(name, callbacks=[callback], unit=unit, description=description)


#: The gauges: name, callback, UCUM unit, description.
_GAUGES: tuple[tuple[str, Callable[[CallbackOptions], Iterable[Observation]], str, str], ...] = (
    (METRIC_INSTALL_EXISTENCE, _observe_existence, "1",
     "Always 1: this Alliance Auth install exists; aa.install.kind says how it runs."),
    (METRIC_USERS, _observe_users, "{user}", "Number of user accounts."),
    (METRIC_ESI_TOKENS, _observe_esi_tokens, "{token}",
     "Number of ESI tokens stored (only when django-esi is installed)."),
    (METRIC_APPS, _observe_apps, "{app}",
     "Number of installed Django apps (all of them, as Alliance Auth counts)."),
    (METRIC_APP_INSTALLED, _observe_app_installed, "1",
     "1 for each installed non-core app, named by its aa.app.label."),
    (METRIC_VERSION, _observe_version, "1",
     "1, with the running Alliance Auth version as the aa.version attribute."),
)


# --- the once-a-day lease -------------------------------------------------------------------------

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
    # warning saying so is logged once by otel_aa.startup.
    from otel_aa.startup import ga_blocked

    return ga_blocked()


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
    # With USE_TZ = False the row holds naive local time (see DjangoLease._now).
    if moment.tzinfo is None:
        from django.utils import timezone

        moment = timezone.make_aware(moment)
    return moment.astimezone(_dt.timezone.utc)


class DjangoLease:
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

    ``interval`` defaults to :envvar:`OTEL_EXPORTER_GA_STATS_INTERVAL`, read at call time.
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
        return resolve(
            _ga_env.OTEL_EXPORTER_GA_STATS_INTERVAL,
            self._interval,
            _ga_env.DEFAULT_STATS_INTERVAL,
            parse_positive_float,
        )

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

    def _db_lease(self) -> tuple[str | None, _dt.datetime | None]:
        from otel_aa.models import StatsLease

        alias = self._db_alias()
        with closing_connection(alias):
            row = (StatsLease.objects.using(alias).filter(key=self.key, expires_at__gt=self._now())
                   .values_list("holder", "expires_at").first())
        return (row[0], row[1]) if row else (None, None)

    def _timeout(self) -> int:
        # Cache timeouts are whole seconds in most backends; never round a short test interval
        # down to 0 (which means "expire now" or "never", depending on the backend).
        return max(1, round(self.interval))

    def _cache(self) -> Any:
        from django.core.cache import caches

        return caches[self.cache_alias]

    def _now(self) -> _dt.datetime:
        from django.conf import settings
        from django.utils import timezone

        moment = _dt.datetime.fromtimestamp(self.clock(), tz=_dt.timezone.utc)
        if not settings.USE_TZ:
            return timezone.make_naive(moment)
        return moment

    def _db_alias(self) -> str:
        from django.db import router

        from otel_aa.models import StatsLease

        return self.using or router.db_for_write(StatsLease)

    def _db_due(self) -> bool:
        from otel_aa.models import StatsLease

        with closing_connection(self._db_alias()):
            return not StatsLease.objects.using(self._db_alias()).filter(
                key=self.key, expires_at__gt=self._now()
            ).exists()

    def _db_acquire(self, holder: str) -> bool:
        from django.db import IntegrityError, transaction

        from otel_aa.models import StatsLease

        alias = self._db_alias()
        now = self._now()
        expires = now + _dt.timedelta(seconds=self.interval)
        with closing_connection(alias):
            leases = StatsLease.objects.using(alias)
            # The database serialises the two writes: of processes racing for an expired row, the
            # UPDATE's WHERE holds for the first only; of processes racing for a missing row, the
            # primary key admits one INSERT.
            with transaction.atomic(using=alias):
                updated = leases.filter(key=self.key, expires_at__lte=now).update(
                    holder=holder, expires_at=expires
                )
            if updated:
                return True
            try:
                with transaction.atomic(using=alias):
                    leases.create(key=self.key, holder=holder, expires_at=expires)
            except IntegrityError:
                return False
            return True

    def _db_release(self, holder: str) -> None:
        from otel_aa.models import StatsLease

        alias = self._db_alias()
        with closing_connection(alias):
            StatsLease.objects.using(alias).filter(key=self.key, holder=holder).delete()

    def _db_renew(self, holder: str) -> None:
        from otel_aa.models import StatsLease

        alias = self._db_alias()
        expires = self._now() + _dt.timedelta(seconds=self.interval)
        with closing_connection(alias):
            StatsLease.objects.using(alias).update_or_create(
                key=self.key, defaults={"holder": holder, "expires_at": expires}
            )


# --- the system check -----------------------------------------------------------------------------

#: Alliance Auth's own daily-stats beat task, which otel-aa replaces.
DAILY_STATS_BEAT_TASK = "allianceauth.analytics.tasks.analytics_daily_stats"
_DAILY_STATS_BEAT_NAME = "analytics_daily_stats"
_SCHEDULE_SETTINGS = ("CELERYBEAT_SCHEDULE", "CELERY_BEAT_SCHEDULE")


def _scheduled_daily_stats(schedule: Any) -> list[str]:
    if not isinstance(schedule, Mapping):
        return []
    found = []
    for name, entry in schedule.items():
        task = entry.get("task") if isinstance(entry, Mapping) else None
        if name == _DAILY_STATS_BEAT_NAME or task == DAILY_STATS_BEAT_TASK:
            found.append(str(name))
    return found


def _celery_beat_schedules() -> list[Any]:
    """``beat_schedule`` of each Celery app this process set up (AA's ``myauth/celery.py``)."""
    import sys

    if "celery" not in sys.modules:
        return []
    from celery import _state

    schedules = []
    for app in list(_state._get_active_apps()):
        if app.configured or getattr(app, "_config_source", None) is not None:
            schedules.append(app.conf.get("beat_schedule"))
        else:
            # Not configured yet: only what was set on app.conf so far, without loading the
            # configuration early.
            schedules.append((getattr(app, "_preconf", None) or {}).get("beat_schedule"))
    return schedules


def _periodic_tasks(alias: str) -> list[str]:
    """Names of the enabled django-celery-beat ``PeriodicTask`` rows that run AA's daily stats.

    AA's beat scheduler (django-celery-beat's ``DatabaseScheduler``) copies ``CELERYBEAT_SCHEDULE``
    into this table at start and never deletes what the setting no longer lists, so the task keeps
    running from the database after the setting is cleaned up.
    """
    from django.apps import apps
    from django.db import DatabaseError

    if not apps.is_installed("django_celery_beat"):
        return []
    from django_celery_beat.models import PeriodicTask

    try:
        return list(
            PeriodicTask.objects.using(alias)
            .filter(task=DAILY_STATS_BEAT_TASK, enabled=True)
            .values_list("name", flat=True)
        )
    except DatabaseError:  # not migrated yet (checks run before migrate does)
        return []


def _scheduled_in_database(databases: Any) -> list[tuple[str, str]]:
    """(alias, name) of AA's task in django-celery-beat's table, on the databases to check.

    ``check --database X`` (and ``migrate``) name them; a plain ``check`` reads ``default``
    too, where AA's beat keeps its schedule, once it is reachable and migrated (a database
    that isn't, a table that doesn't exist yet, gives nothing), and closes that connection.
    """
    if databases:
        return [(alias, name) for alias in databases for name in _periodic_tasks(alias)]
    from django.apps import apps
    from django.conf import settings

    if not apps.is_installed("django_celery_beat"):
        return []
    default = (getattr(settings, "DATABASES", None) or {}).get("default", {})
    engine = str(default.get("ENGINE", ""))
    if not engine or engine.endswith(".dummy"):
        return []
    name = str(default.get("NAME", ""))
    if engine.endswith("sqlite3") and not name.startswith(("file:", ":memory:")) and not os.path.exists(name):
        return []  # connecting would create an empty database file
    try:
        with closing_connection("default"):
            return [("default", name) for name in _periodic_tasks("default")]
    except Exception as exc:  # unreachable, or not set up: not this check's to report
        from django.db import DatabaseError

        if not isinstance(exc, DatabaseError):
            report("system check: reading django-celery-beat's periodic tasks", exc)
        return []


def check_daily_stats_beat(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """System check ``otel_aa.W101``: AA's ``analytics_daily_stats`` is still scheduled.

    otel-aa sends the daily statistics itself; AA's beat task would send them to AA's tokens a
    second time. Looks at ``CELERYBEAT_SCHEDULE`` (AA's settings), ``CELERY_BEAT_SCHEDULE``, the
    configured Celery app's ``beat_schedule`` and django-celery-beat's periodic tasks: in the
    databases the check is given (``manage.py check --database default``, ``migrate``), else in
    ``default`` once it is reachable and migrated.
    """
    from django.conf import settings
    from django.core.checks import Warning as CheckWarning

    places: list[str] = []
    for setting in _SCHEDULE_SETTINGS:
        for name in _scheduled_daily_stats(getattr(settings, setting, None)):
            places.append(f"{setting}[{name!r}]")
    try:
        for schedule in _celery_beat_schedules():
            for name in _scheduled_daily_stats(schedule):
                # AA's celery.py reads CELERYBEAT_SCHEDULE into beat_schedule: say it once.
                if not any(p.endswith(f"[{name!r}]") for p in places):
                    places.append(f"Celery beat_schedule[{name!r}]")
    except Exception as exc:  # a broken Celery config is not this check's to report
        report("system check: reading Celery's beat_schedule", exc)
    for alias, name in _scheduled_in_database(kwargs.get("databases")):
        places.append(f"django-celery-beat's periodic tasks ({name!r}, database {alias!r})")
    if not places:
        return []
    return [
        CheckWarning(
            "Alliance Auth's analytics_daily_stats task is still scheduled in "
            + ", ".join(places)
            + ": otel-aa sends the daily statistics itself, so they would be sent twice.",
            hint=(
                "Remove the 'analytics_daily_stats' entry from CELERYBEAT_SCHEDULE in your "
                "settings, then delete (or disable) the 'analytics_daily_stats' periodic task in "
                "the admin (Periodic Tasks): django-celery-beat keeps its own copy in the "
                "database and does not remove it when the setting changes."
            ),
            id="otel_aa.W101",
        )
    ]


def register_checks() -> None:
    """Register :func:`check_daily_stats_beat` with Django's system checks (the AppConfig does)."""
    from django.core import checks

    checks.register(check_daily_stats_beat, checks.Tags.compatibility)
