"""The SDK configurator (``OTEL_PYTHON_CONFIGURATOR=otel_aa``) and the code start, ``configure()``.

The SDK's own configurator does the work (``OTEL_TRACES_EXPORTER``, ``OTEL_METRICS_EXPORTER``,
``OTEL_TRACES_SAMPLER``, ...); otel-aa hands it, as the arguments it takes:

- ``export_span_processor``: every GA span exporter sits behind
  :class:`otel_aa.privacy.AllowlistSpanProcessor`; other exporters (OTLP) get full spans, or the
  allowlist too with :envvar:`OTEL_AA_OTLP_ALLOWLIST`;
- ``sampler``: the sampler the environment names, wrapped in
  :class:`otel_aa._sampling.AnalyticsSampler`, so sampling and a client's ``traceparent`` can't
  thin GA's counts;
- ``exporter_args_map``: the GA exporters' arguments: the install's ``client_id``
  (:mod:`otel_aa._identity`), the AA version as a user property, the admin's tokens, the record
  of what left (:mod:`otel_aa._ledger`), AA's mapping, Django's settings as host settings and,
  for the daily-stats reader (the ``ga`` metrics entry point, a ``MetricReader`` the SDK builds
  and gives its ``MeterProvider``, which flushes and shuts it down), the daily-stats lease.

After the SDK is set up the daily-stats gauges (:mod:`otel_aa._stats`) are registered on its
meter provider, and a Celery child configures itself at ``worker_process_init`` if its parent
didn't. Nothing here writes the environment: the defaults are the distro's (:mod:`otel_aa._distro`).
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk.environment_variables import OTEL_BSP_MAX_EXPORT_BATCH_SIZE
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from otel_aa import _compat as compat
from otel_aa import _identity as identity
from otel_aa._allowlist_processor import AllowlistSpanProcessor
from otel_aa._distro import set_default_environment
from otel_aa._guard import guarded
from otel_aa._host_settings import django_setting
from otel_aa._instrumenting import instrument
from otel_aa._internals import span_processors
from otel_aa._otlp_allowlist import otlp_allowlist_on, reduce_metrics
from otel_aa._sampling import analytics_sampler
from otel_aa.environment_variables import exporter_names

__all__ = [
    "OtelAAConfigurator",
    "configure",
    "ensure_configured",
    "export_span_processor",
    "exporter_args_map",
    "is_configured",
    "shutdown",
    "user_properties",
]

_logger = logging.getLogger(__name__)

_GA_NAME = "ga"
_lock = threading.RLock()
_state: dict[str, Any] = {"configured": False}
# The processors the SDK added to the global provider through our configure: where the
# provider's own processors can't be read (_internals), is_configured() goes by these.
_configured: weakref.WeakSet[SpanProcessor] = weakref.WeakSet()


def _ga_exporter_classes() -> tuple[type | None, type | None, type | None]:
    try:
        from opentelemetry.exporter.google_analytics import (
            GoogleAnalyticsMetricExporter,
            GoogleAnalyticsMetricReader,
            GoogleAnalyticsSpanExporter,
        )
    except ImportError as exc:
        _logger.error("otel-aa: the Google Analytics exporter can't be imported (%s)", type(exc).__name__)
        return None, None, None
    return GoogleAnalyticsSpanExporter, GoogleAnalyticsMetricExporter, GoogleAnalyticsMetricReader


def export_span_processor(span_exporter: SpanExporter, **kwargs: Any) -> SpanProcessor:
    """The SDK's per-exporter hook: which processor each span exporter sits behind.

    ``kwargs`` go to the ``BatchSpanProcessor``. Allowlisted spans are reduced on the export
    thread (:meth:`AllowlistSpanProcessor.batching`): request and task threads don't pay for it.
    """
    span_cls, _, _ = _ga_exporter_classes()
    if span_cls is not None and isinstance(span_exporter, span_cls):
        if "max_export_batch_size" not in kwargs and not os.environ.get(OTEL_BSP_MAX_EXPORT_BATCH_SIZE):
            # A multiple of GA's 25 events per request: every request goes out full.
            from opentelemetry.exporter.google_analytics import RECOMMENDED_EXPORT_BATCH_SIZE

            kwargs["max_export_batch_size"] = RECOMMENDED_EXPORT_BATCH_SIZE
        return AllowlistSpanProcessor.batching(span_exporter, **kwargs)
    if otlp_allowlist_on():
        return AllowlistSpanProcessor.batching(span_exporter, analytics_only=False, **kwargs)
    return BatchSpanProcessor(span_exporter, **kwargs)


def user_properties() -> dict[str, str]:
    """GA user properties: the Alliance Auth version where known, under the name AA itself uses."""
    version = compat.aa_version()
    return {"allianceauth_version": version} if version else {}


def _sampler() -> Sampler:
    """The sampler handed to the SDK (tests build their providers with it too)."""
    return analytics_sampler()


def exporter_args_map() -> dict[type, dict[str, Any]]:
    """The GA exporters' arguments, by class, as the SDK's ``exporter_args_map`` takes them."""
    span_cls, metric_cls, reader_cls = _ga_exporter_classes()
    from otel_aa._admin_tokens import token_source
    from otel_aa._ga_mapping import AAMapping
    from otel_aa._ledger import ledger

    # The admin's tokens (read on the export threads, cached) and the record of what left, for
    # both exporters: a switch in the admin reaches spans and daily stats alike. AAMapping: what
    # becomes which GA event (task runs, the daily stats, task counts). Django's settings are
    # the exporters' host settings (resolved at construction and again at AppConfig.ready).
    args: dict[str, Any] = {"client_id": identity.client_id, "user_properties": user_properties,
                            "token_source": token_source, "delivery_observer": ledger,
                            "mapping": AAMapping(), "settings": django_setting}
    found: dict[type, dict[str, Any]] = {}
    if span_cls is not None:
        found[span_cls] = dict(args)
    for cls in (reader_cls, metric_cls):
        if cls is not None:
            # One install-wide daily-stats lease per reader (the metric exporter alone: the
            # same, for whoever names it in an entry point of their own).
            found[cls] = dict(args, **_stats_lease())
    if reader_cls is not None:
        # A web worker recycled before its first check still sends the stats when due, at exit.
        found[reader_cls]["send_due_at_shutdown"] = True
    return found


def _stats_lease() -> dict[str, Any]:
    try:
        from otel_aa._lease import DjangoLease
    except ImportError:
        return {}
    return {"lease": DjangoLease()}


@guarded("otel_aa.shutdown()")
def shutdown() -> None:
    """Flush and stop what :func:`configure` started, within the SDK's timeouts.

    The providers shut down their processors and readers (GA's daily-stats reader sends then if
    its lease says the stats are due). The SDK also does it at interpreter exit; call it first
    where the process's resources go away before that (a test, an embedded demo).
    """
    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        stop = getattr(provider, "shutdown", None)
        if stop is not None:
            stop()


def _default_names(variable: str, given: Any) -> list[str]:
    # The SDK adds the environment's names to these. Neither naming any (the configurator under
    # another distro): otel-aa's default (ga), as an argument rather than an os.environ write.
    if given or os.environ.get(variable, "").strip():
        return list(given or [])
    return exporter_names(variable)


def _recorded(hook: Callable[[SpanExporter], SpanProcessor]) -> Callable[[SpanExporter], SpanProcessor]:
    """``hook``, keeping each processor it makes for the SDK in ``_configured``."""
    def make(span_exporter: SpanExporter) -> SpanProcessor:
        processor = hook(span_exporter)
        _configured.add(processor)
        return processor

    return make


class OtelAAConfigurator(_OTelSDKConfigurator):
    """``opentelemetry_configurator`` entry point ``otel_aa``: the SDK's configurator, GA-aware."""

    def _configure(self, **kwargs: Any) -> None:
        with _lock:
            kwargs.setdefault("sampler", _sampler())
            hook = kwargs.get("export_span_processor") or export_span_processor
            kwargs["export_span_processor"] = _recorded(hook)
            kwargs["trace_exporter_names"] = _default_names("OTEL_TRACES_EXPORTER",
                                                            kwargs.get("trace_exporter_names"))
            kwargs["metric_exporter_names"] = metric_names = _default_names(
                "OTEL_METRICS_EXPORTER", kwargs.get("metric_exporter_names"))
            exporter_args = exporter_args_map()
            exporter_args.update(kwargs.get("exporter_args_map") or {})
            kwargs["exporter_args_map"] = exporter_args
            super()._configure(**kwargs)
            if otlp_allowlist_on():
                reduce_metrics()
            if _GA_NAME in set(metric_names) | set(exporter_names("OTEL_METRICS_EXPORTER")):
                _register_gauges()
            compat.log_analytics_disabled_once()
            connect_worker_process_init()
            _state["configured"] = True
        _startup_line()


@guarded("registering the daily-stats gauges")
def _register_gauges() -> None:
    # On the provider the SDK just made: its GA reader (and an OTLP one) read them.
    try:
        from otel_aa._stats import register_gauges
    except ImportError:
        return
    register_gauges(metrics.get_meter_provider())


@guarded("the start-up line")
def _startup_line() -> None:
    # One line per process, once Django's logging is in force (otel_aa._startup).
    from otel_aa import _startup as startup

    startup.started()


def is_configured() -> bool:
    """Whether the global tracer provider has a GA exporter behind the allowlist."""
    processors = span_processors(trace.get_tracer_provider())
    if processors is None:  # an SDK otel-aa doesn't read: what this process built, by its own record
        processors = tuple(_configured)
    span_cls, _, _ = _ga_exporter_classes()
    for processor in processors:
        if isinstance(processor, AllowlistSpanProcessor):
            # A batching() processor names its exporter; a hand-built one wraps a batch processor.
            exporter = processor.exporter or getattr(processor.processor, "span_exporter", None)
            if span_cls is not None and isinstance(exporter, span_cls):
                return True
    return False


def _sdk_provider_set() -> bool:
    from opentelemetry.sdk.trace import TracerProvider

    return isinstance(trace.get_tracer_provider(), TracerProvider)


@guarded("otel_aa.configure()")
def configure() -> None:
    """Set otel-aa up from code: call it at the top of ``wsgi.py`` and ``celery.py``.

    Idempotent and never raises. Does what ``opentelemetry-instrument`` does with otel-aa's
    distro and configurator: the distro's environment defaults, the configurator (unless the
    SDK is set up already), then :func:`otel_aa._instrumenting.instrument`.
    """
    with _lock:
        set_default_environment()
        if not _state["configured"] and not _sdk_provider_set():
            OtelAAConfigurator().configure()
        _state["configured"] = True
        connect_worker_process_init()
        instrument()
    _startup_line()


def ensure_configured() -> None:
    """In a forked child: configure if the parent never did, else instrument (both idempotent)."""
    if not _sdk_provider_set():
        configure()
    else:
        instrument()


@guarded("Celery worker_process_init hook")
def _worker_process_init(**kwargs: Any) -> None:
    # The SDK's batch processors and periodic readers restart their threads after fork by
    # themselves; what a prefork child may lack is the set-up itself, when its parent was set up
    # by otel_aa.configure() after the pool forked: configure again (idempotent).
    ensure_configured()


@guarded("connecting the Celery worker_process_init hook")
def connect_worker_process_init() -> None:
    """Have each prefork child run :func:`ensure_configured` as it starts (idempotent)."""
    try:
        from celery import signals
    except ImportError:
        return
    signals.worker_process_init.connect(_worker_process_init, weak=False,
                                        dispatch_uid="otel_aa._configurator.worker_process_init")
