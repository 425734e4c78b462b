"""The one line each process logs at start (logger ``otel_aa``): what goes to GA, or why nothing.

A gunicorn worker, a Celery worker and beat each say, once, which tokens receive which streams,
the endpoint's host (never its credentials or path), and whether hits go to GA's validation
server; or, when nothing goes to GA from that process, why (``ANALYTICS_DISABLED``, no usable
token, an invalid endpoint, ``ga`` in neither ``OTEL_TRACES_EXPORTER`` nor
``OTEL_METRICS_EXPORTER``, ``otel_aa`` missing from ``INSTALLED_APPS``).

The line waits until Django is set up (its ``LOGGING`` is in force then): :func:`announce` runs
when otel-aa starts, from the app's ``ready()`` and, for a process without the app, at its first
request or Celery's worker / beat start; the first call that finds Django set up logs. A forked
child (gunicorn ``--preload``, Celery prefork) logs its own line.

Removing ``otel_aa`` from ``INSTALLED_APPS`` switches GA off in a process otel-aa started:
:func:`ga_blocked` is what the GA span path and the daily-stats lease ask, and the first to find
the app missing logs the warning. It never reads the database: tokens kept in the admin are read
later, on the export threads.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

from otel_aa._host_settings import django_setting
from otel_aa.environment_variables import exporter_names

__all__ = ["announce", "describe", "ga_blocked"]

_logger = logging.getLogger("otel_aa")
_lock = threading.Lock()
_state: dict[str, Any] = {"announced_pid": None, "started": False, "installed": None,
                          "warned_pid": None, "fork_hook": False}
_APP = "otel_aa"


def _settings() -> Any:
    conf = sys.modules.get("django.conf")
    return getattr(conf, "settings", None)


def app_installed() -> bool | None:
    """Whether ``otel_aa`` is in ``INSTALLED_APPS``; None while that can't be told yet.

    Known once the app registry is ready, or once the settings module is loaded (settings made
    by ``settings.configure()`` alone, as some libraries' tests do, tell nothing). Never loads
    the settings itself: that is the host's start-up to do.
    """
    known = _state["installed"]
    if known is not None:
        return bool(known)
    apps_module = sys.modules.get("django.apps")
    registry = getattr(apps_module, "apps", None)
    if registry is not None and registry.apps_ready:
        known = registry.is_installed(_APP)
    else:
        settings = _settings()
        if settings is None or not settings.configured or not getattr(settings, "SETTINGS_MODULE", None):
            return None
        names = [str(name) for name in getattr(settings, "INSTALLED_APPS", ()) or ()]
        known = any(name == _APP or name.startswith(_APP + ".") for name in names)
    _state["installed"] = known
    return bool(known)


def ga_blocked() -> bool:
    """True when this process must send nothing to GA: started without ``otel_aa`` installed."""
    if app_installed() is not False:
        return False
    with _lock:
        warn = _state["warned_pid"] != os.getpid()
        _state["warned_pid"] = os.getpid()
    if warn:
        _logger.warning(
            "otel-aa: 'otel_aa' is not in INSTALLED_APPS, so this process sends nothing to Google "
            "Analytics (page views, Celery events and daily stats are off; OTLP, if configured, "
            "is unaffected). Add it back to send, or remove opentelemetry-instrument / "
            "otel_aa.configure() from the start commands to stop otel-aa altogether."
        )
    return True


def _exporters(variable: str) -> set[str]:
    # As the configurator reads them: the environment's, else otel-aa's default (ga).
    return set(exporter_names(variable))


def _endpoint() -> tuple[str | None, str | None]:
    """(host[:port], problem) of the collect URL; credentials and path are never shown."""
    config = _ga_config()
    if config.endpoint is None:
        return None, config.endpoint_problem or "unreadable"
    parts = urlsplit(config.endpoint)
    host = parts.hostname or ""
    return (f"{host}:{parts.port}" if parts.port else host), None


def _validating() -> bool:
    # Left unset, the Django lookup answers with DEBUG (otel_aa._host_settings).
    return _ga_config().validate


def _ga_config() -> Any:
    # As the exporters resolve it (GAConfig.resolve is their own resolution, not a second copy).
    from opentelemetry.exporter.google_analytics import GAConfig

    return GAConfig.resolve(settings=django_setting)


def _streams(token: Any, spans: bool, stats: bool) -> list[str]:
    streams = []
    if spans and token.page_views:
        streams.append("page_views")
    if token.celery_events and getattr(token, "aggregate_celery_events", False):
        if stats:  # counts come from the metric exporter (OTEL_METRICS_EXPORTER=ga)
            streams.append("celery_events (counts)")
    elif spans and token.celery_events:
        streams.append("celery_events")
    if stats and token.daily_stats:
        streams.append("daily_stats")
    return streams


def describe() -> tuple[int, str]:
    """The start-up line for this process: (log level, message). Reads settings only."""
    from opentelemetry.exporter.google_analytics import load_tokens_report

    from otel_aa import _compat as compat

    spans = "ga" in _exporters("OTEL_TRACES_EXPORTER")
    stats = "ga" in _exporters("OTEL_METRICS_EXPORTER")
    off = "otel-aa: nothing is sent to Google Analytics from this process: "
    if app_installed() is False:
        return logging.WARNING, off + "'otel_aa' is not in INSTALLED_APPS."
    if compat.analytics_disabled():
        return logging.INFO, off + "ANALYTICS_DISABLED is set."
    if not spans and not stats:
        return logging.INFO, off + "'ga' is in neither OTEL_TRACES_EXPORTER nor OTEL_METRICS_EXPORTER."
    host, problem = _endpoint()
    if problem is not None:
        return logging.WARNING, off + f"OTEL_EXPORTER_GA_ENDPOINT is invalid ({problem})."
    report = load_tokens_report(settings=django_setting)
    skipped = f"; {len(report.problems)} token(s) skipped (see the errors above)" if report.problems else ""
    admin = "plus the tokens kept in the admin"
    if report.tokens:
        listed = ", ".join(
            f"{t.name!r} ({t.measurement_id}: {', '.join(_streams(t, spans, stats)) or 'nothing'})"
            for t in report.tokens
        )
        tokens = f"tokens {listed}, {admin}"
    else:
        tokens = f"no token in the settings, only those kept in the admin, if any{skipped}"
        skipped = ""
    mode = "GA's validation server (nothing recorded)" if _validating() else "collecting"
    kinds = (["page views", "Celery events"] if spans else []) + (["daily stats"] if stats else [])
    which = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " and " + kinds[-1]
    return logging.INFO, (f"otel-aa: sending {which} to Google Analytics at {host}, {mode}; "
                          f"{tokens}{skipped}.")


def _django_ready() -> bool:
    # models_ready, not ready: the app's own ready() runs in between, and Django's LOGGING was
    # configured before either.
    apps_module = sys.modules.get("django.apps")
    registry = getattr(apps_module, "apps", None)
    return bool(registry is not None and registry.models_ready)


def started() -> None:
    """otel-aa was started in this process (the configurator, ``configure()``): announce when ready."""
    with _lock:
        first = not _state["fork_hook"]
        _state["started"] = True
        _state["fork_hook"] = True
    if first:
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork)
        _connect_process_signals()
    announce()


def _connect_process_signals() -> None:
    # Without the otel_aa app no ready() announces: the first request, or Celery's worker / beat
    # start, does (after Django is set up). With it, these find the line said and return.
    try:
        from django.core.signals import request_started

        request_started.connect(_on_signal, weak=False, dispatch_uid="otel_aa._startup")
    except ImportError:
        pass
    try:
        from celery import signals
    except ImportError:
        return
    for signal in (signals.worker_ready, signals.beat_init, signals.worker_process_init):
        signal.connect(_on_signal, weak=False, dispatch_uid="otel_aa._startup")


def _on_signal(*args: Any, **kwargs: Any) -> None:
    # Runs on every request: a comparison once the line was said in this process.
    if _state["announced_pid"] != os.getpid():
        announce()


def announce() -> None:
    """Log the start-up line, once per process, if otel-aa was started here and Django is set up."""
    try:
        if not _state["started"] or not _django_ready():
            return
        with _lock:
            if _state["announced_pid"] == os.getpid():
                return
            _state["announced_pid"] = os.getpid()
        level, message = describe()
        if level >= logging.WARNING and app_installed() is False:
            ga_blocked()  # the same words, logged once
            return
        _logger.log(level, message)
    except Exception as exc:  # the line is a courtesy: it must never break a start-up
        from otel_aa._guard import report

        report("the start-up line", exc)


def _after_fork() -> None:
    # A preloaded gunicorn master or Celery's prefork parent had Django set up already: the
    # child logs its own line now (the registry is inherited); otherwise its ready() will.
    _state["warned_pid"] = None
    announce()
