"""The install's GA ``client_id``: one random UUIDv4 per install, the same in every process.

Where it comes from, in order:

1. ``OTEL_EXPORTER_GA_CLIENT_ID`` (environment variable, else Django setting), when the admin
   set one: it outranks the install's identifier, as the README says;
2. with Alliance Auth's analytics app installed, AA's ``AnalyticsIdentifier`` (so AA's
   dashboards keep counting the same install), and only that: otel-aa never falls back to an
   identifier of its own there, which GA would count as a second install;
3. otherwise otel-aa's own :class:`otel_aa.models.InstallIdentity` row.

The row is *settled* by :func:`settle`, a ``post_migrate`` handler: in the ``migrate`` command's
thread, a moment the host controls, it creates AA's row (the way AA's own ``get_solo()`` does)
or otel-aa's when there is none. The exporters' threads only read (:func:`client_id`): one
``SELECT``, never of a database the host has left (:func:`otel_aa._db.may_read`), cached for the
process's life once it found a row. While there is no row yet, or the read fails (a locked table, the
database down), :func:`client_id` returns ``None``, "not known yet": the exporter sends nothing
under a made-up identity, counts those events as dropped, and asks again at its next export.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

from opentelemetry.exporter.google_analytics import environment_variables as ga_env
from opentelemetry.exporter.google_analytics import settings as ga_settings

from otel_aa import _compat as compat
from otel_aa._db import may_read, reading
from otel_aa._guard import guarded, log_once
from otel_aa._host_settings import django_setting

__all__ = ["client_id", "install_identifier", "settle"]

_logger = logging.getLogger(__name__)
_lock = threading.Lock()
_cached: str | None = None


def _after_fork_in_child() -> None:
    # A Celery prefork child or gunicorn worker may fork while the parent's export thread holds
    # the lock for its database read: the child's copy would stay held, and its exporters would
    # wait on it for ever. The child starts with a free one (the cached value is inherited).
    global _lock
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

_AA_APP, _AA_MODEL = "analytics", "AnalyticsIdentifier"


def client_id() -> str | None:
    """The ``client_id`` to send: the admin's setting, else :func:`install_identifier`.

    ``None`` means "not known yet" (see the module's docstring). Never raises.
    """
    configured = ga_settings.resolve_fail_closed(
        ga_env.OTEL_EXPORTER_GA_CLIENT_ID, None, None, ga_settings.parse_str, "",
        "nothing is sent to GA until it is fixed", settings=django_setting)
    if configured == "":  # unreadable: sending under another identity would count a second install
        return None
    if configured is not None:
        return str(configured)
    return install_identifier()


def install_identifier() -> str | None:
    """The install's stored identifier as AA sends it (32 hex digits), or ``None`` while unknown.

    Read-only; cached for the process's life after the first read that found a row.
    """
    global _cached
    if _cached is not None:
        return _cached
    with _lock:
        if _cached is None:
            _cached = _read()
        return _cached


def _model() -> Any:
    """AA's ``AnalyticsIdentifier`` where AA's analytics app is installed, else ``InstallIdentity``."""
    if compat.aa_analytics_installed():
        from django.apps import apps

        return apps.get_model(_AA_APP, _AA_MODEL)
    from otel_aa.models import InstallIdentity

    return InstallIdentity


def _read() -> str | None:
    from django.apps import apps
    from django.db import router

    if not apps.ready:
        return None
    try:
        model = _model()
        alias = router.db_for_read(model)
        if not may_read(alias):
            return None  # e.g. a test runner's database that is gone (see otel_aa._db)
        with reading(alias):
            value = model._default_manager.using(alias).order_by("pk").values_list(
                "identifier", flat=True).first()
    except Exception as exc:  # transient (locked, down, not migrated): asked again next export
        log_once(f"identity:read:{type(exc).__name__}", logging.WARNING,
                 "otel-aa: could not read the install's identifier (%s); GA events wait for it",
                 type(exc).__name__, logger=_logger)
        return None
    if value is None:
        log_once("identity:missing", logging.WARNING,
                 "otel-aa: the install has no identifier yet; run `manage.py migrate` once "
                 "(nothing is sent to GA until then)", logger=_logger)
        return None
    return str(value.hex)  # the form AA's own tasks send it in


@guarded("settling the install's identifier after migrate")
def settle(sender: Any = None, using: str = "default", apps: Any = None, **kwargs: Any) -> None:
    """``post_migrate``: create the install's identifier row if there is none (the host's thread).

    ``apps`` is the migration state Django passes; the models are taken from it, so a partial
    ``migrate`` (AA's table not there yet) only skips.
    """
    from django.apps import apps as global_apps
    from django.db import DEFAULT_DB_ALIAS, router

    registry = apps if apps is not None else global_apps
    if compat.aa_analytics_installed():
        try:
            model = registry.get_model(_AA_APP, _AA_MODEL)
        except LookupError:
            return  # AA's analytics app is not migrated yet: the next migrate settles it
        # django-solo's get_solo(): get_or_create() of the singleton's primary key.
        real = global_apps.get_model(_AA_APP, _AA_MODEL)
        pk = getattr(real, "singleton_instance_id", 1)
    else:
        try:
            model = registry.get_model("otel_aa", "InstallIdentity")
        except LookupError:
            return
        pk = 1  # a fixed key: concurrent migrates insert one row, the other reads it
    using = using or DEFAULT_DB_ALIAS
    if not router.allow_migrate_model(using, model):
        return
    manager = model._default_manager.using(using)
    if not manager.exists():
        manager.get_or_create(pk=pk)


def _reset_cache() -> None:
    """Forget the cached value (tests)."""
    global _cached
    with _lock:
        _cached = None
