"""The Django app: ``"otel_aa"`` in ``INSTALLED_APPS``."""

from __future__ import annotations

import importlib

from django.apps import AppConfig

from otel_aa._guard import guarded


class OtelAAConfig(AppConfig):
    name = "otel_aa"
    label = "otel_aa"
    verbose_name = "otel-aa analytics"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        _reload_settings()
        _register_checks()
        _settle_identity_after_migrate(self)
        _patch_instrumentations()
        _import_for_export_threads()
        _announce()


#: What the exporters' threads import on first use (token source, identity, ledger, the cache
#: backend): imported here, on the main thread, before a Celery prefork pool or gunicorn forks. A
#: first import running on an export thread when the process forks leaves that module's import
#: lock held in the child, whose own export thread then waits on it for ever (seen as a prefork
#: child that never sends).
THREAD_IMPORTS = ("otel_aa._db", "otel_aa._admin_tokens", "otel_aa._compat", "otel_aa._identity",
                  "otel_aa._ledger", "otel_aa._deliveries", "otel_aa.models", "django.core.cache")


@guarded("importing what otel-aa's threads use")
def _import_for_export_threads() -> None:
    for name in THREAD_IMPORTS:
        importlib.import_module(name)
    from django.core.cache import caches

    # The backend's own modules (django-redis, redis-py) load when the backend is first made;
    # redis-py connects only when first used.
    caches["default"]


@guarded("reloading otel-aa's settings")
def _reload_settings() -> None:
    # Django's settings are final now: the one moment they can change after start-up (under
    # opentelemetry-instrument the SDK and the exporters were set up before Django loaded them).
    from opentelemetry.exporter.google_analytics import reload_settings

    from otel_aa import _config as config

    config.reload()
    reload_settings()


@guarded("patching the instrumentations")
def _patch_instrumentations() -> None:
    # However Django and Celery get instrumented (configure(), the distro, by hand): a path
    # beyond Latin-1 must not make the instrumentation fail the request, and the
    # instrumentations collect only what is read (otel_aa._lean). Nothing is instrumented here.
    from otel_aa._instrumenting import instrument

    instrument(apply=False)


@guarded("the start-up line")
def _announce() -> None:
    # Django's LOGGING is in force now: the process says what it sends (otel_aa._startup).
    from otel_aa._startup import announce

    announce()


@guarded("connecting otel-aa's database signals")
def _settle_identity_after_migrate(config: AppConfig) -> None:
    # The install's identifier is written in migrate's thread, never by otel-aa's threads; which
    # databases the host uses is noted from here on (otel_aa._db).
    from django.db.models.signals import post_migrate

    from otel_aa import _db
    from otel_aa import _identity as identity

    _db.watch_connections()
    post_migrate.connect(identity.settle, sender=config, dispatch_uid="otel_aa._identity.settle")


@guarded("registering otel-aa's system checks")
def _register_checks() -> None:
    importlib.import_module("otel_aa.checks")
    # The daily-stats beat check (AA's beat entry still scheduled) registers through
    # register_checks().
    beat_check = _optional("otel_aa._beat_check")
    register = getattr(beat_check, "register_checks", None)
    if register is not None:
        register()


def _optional(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None
