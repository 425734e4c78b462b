"""The daily install statistics, as OpenTelemetry observable gauges.

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
processes run (:class:`otel_aa._lease.DjangoLease`). Other readers (``OTEL_METRICS_EXPORTER=ga,otlp``)
read the same gauges at their own interval. Which apps count as extensions is
:mod:`otel_aa._app_labels`; the check that AA's own beat task no longer runs is
:mod:`otel_aa._beat_check`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.exporter.google_analytics import observe_when_due
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation, get_meter_provider

from otel_aa import __version__
from otel_aa._app_labels import install_kind, installed_extensions
from otel_aa._db import closing_connection, may_read
from otel_aa._guard import guarded, report
from otel_aa.names import (
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

__all__ = ["register_gauges"]


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
    from otel_aa import _compat as compat

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
        # Gated: no count query in the GA reader's counts-only collections (otel_aa._task_counts).
        meter.create_observable_gauge(name, callbacks=[observe_when_due(callback)], unit=unit,
                                      description=description)


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
