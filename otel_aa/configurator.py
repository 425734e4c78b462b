"""The SDK configurator (``OTEL_PYTHON_CONFIGURATOR=otel_aa``) and the code start, ``configure()``.

On top of the SDK's own configurator (``OTEL_TRACES_EXPORTER``, ``OTEL_TRACES_SAMPLER``, ...):

- every GA span exporter sits behind :class:`otel_aa.privacy.AllowlistSpanProcessor`; other
  exporters (OTLP) get full spans, or the allowlist too with :envvar:`OTEL_AA_OTLP_ALLOWLIST`;
- the sampler is wrapped in :class:`otel_aa.sampling.AnalyticsSampler`, so sampling and a client's
  ``traceparent`` can't thin GA's counts;
- the GA metric exporter gets its own reader (``GoogleAnalyticsMetricReader``, which collects only
  when the daily-stats lease says a send is due) and the daily-stats gauges are registered;
- the exporters get the install's ``client_id`` (:mod:`otel_aa.identity`) and the AA version as
  a user property, both read lazily on their export thread.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.environment_variables import OTEL_METRICS_EXPORTER
from opentelemetry.exporter.google_analytics import settings as ga_settings
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk.environment_variables import OTEL_BSP_MAX_EXPORT_BATCH_SIZE
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from otel_aa import compat, identity
from otel_aa import environment_variables as env
from otel_aa._guard import guarded
from otel_aa.privacy import AllowlistSpanProcessor
from otel_aa.sampling import AnalyticsSampler

__all__ = [
    "DEFAULT_ENVIRONMENT",
    "OtelAAConfigurator",
    "configure",
    "ensure_configured",
    "export_span_processor",
    "ga_metric_reader",
    "instrumentation_kwargs",
    "is_configured",
    "set_default_environment",
    "shutdown",
    "user_properties",
]

_logger = logging.getLogger(__name__)

#: What the distro and ``configure()`` set when the admin hasn't: GA for traces and metrics, no
#: logs (GA has no use for them), and the OTLP protocol otel-aa ships an exporter for.
DEFAULT_ENVIRONMENT: Mapping[str, str] = {
    "OTEL_TRACES_EXPORTER": "ga",
    "OTEL_METRICS_EXPORTER": "ga",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
}

_GA_NAME = "ga"
_lock = threading.RLock()
_state: dict[str, Any] = {"configured": False, "pid": None, "instrumented": False}


def set_default_environment() -> None:
    """``os.environ.setdefault`` each of :data:`DEFAULT_ENVIRONMENT`."""
    for name, value in DEFAULT_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


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


def _otlp_allowlist() -> bool:
    # Fails closed: an unreadable value puts the allowlist on.
    return bool(ga_settings.resolve_fail_closed(env.OTEL_AA_OTLP_ALLOWLIST, None, env.DEFAULT_OTLP_ALLOWLIST,
                                                ga_settings.parse_bool, True,
                                                "the allowlist is on until it is fixed"))


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
    if _otlp_allowlist():
        return AllowlistSpanProcessor.batching(span_exporter, analytics_only=False, **kwargs)
    return BatchSpanProcessor(span_exporter, **kwargs)


def user_properties() -> dict[str, str]:
    """GA user properties: the Alliance Auth version where known, under the name AA itself uses."""
    version = compat.aa_version()
    return {"allianceauth_version": version} if version else {}


def _sampler() -> Sampler:
    """What the SDK would choose from ``OTEL_TRACES_SAMPLER``, wrapped for GA."""
    from opentelemetry.sdk.trace import sampling

    try:
        # The SDK's own choice (entry-point samplers included); private helpers, so guarded.
        from opentelemetry.sdk._configuration import _get_sampler, _import_sampler

        inner = _import_sampler(_get_sampler()) or sampling._get_from_env_or_default()
    except (ImportError, AttributeError) as exc:
        _logger.warning("otel-aa: could not read OTEL_TRACES_SAMPLER the SDK's way (%s); "
                        "using parentbased_always_on", type(exc).__name__)
        inner = sampling.ParentBased(sampling.ALWAYS_ON)
    return AnalyticsSampler(inner)


@contextmanager
def _metrics_without_ga() -> Iterator[bool]:
    """Take ``ga`` out of ``OTEL_METRICS_EXPORTER`` while the SDK builds its readers.

    The SDK would wrap the GA metric exporter in a ``PeriodicExportingMetricReader`` (collecting
    every minute); GA gets its own reader instead, added afterwards. Yields whether ``ga`` was there.
    """
    raw = os.environ.get(OTEL_METRICS_EXPORTER)
    names = [n.strip() for n in (raw or "").split(",") if n.strip()]
    if _GA_NAME not in names:
        yield False
        return
    rest = [n for n in names if n != _GA_NAME]
    os.environ[OTEL_METRICS_EXPORTER] = ",".join(rest) if rest else "none"
    try:
        yield True
    finally:
        os.environ[OTEL_METRICS_EXPORTER] = raw or ""


def _exporter_args_map() -> dict[type, dict[str, Any]]:
    span_cls, metric_cls, _ = _ga_exporter_classes()
    from otel_aa.admin_tokens import token_source
    from otel_aa.ledger import ledger

    # The admin's tokens (read on the export threads, cached) and the record of what left, for
    # both exporters: a switch in the admin reaches spans and daily stats alike.
    args: dict[str, Any] = {"client_id": identity.client_id, "user_properties": user_properties,
                            "token_source": token_source, "delivery_observer": ledger}
    return {cls: dict(args) for cls in (span_cls, metric_cls) if cls is not None}


def _add_ga_metric_reader() -> None:
    _, metric_cls, reader_cls = _ga_exporter_classes()
    if metric_cls is None or reader_cls is None:
        return
    provider = metrics.get_meter_provider()
    add = getattr(provider, "add_metric_reader", None)
    if add is None:
        _logger.error("otel-aa: this OpenTelemetry SDK can't add a metric reader; no daily stats")
        return
    kwargs: dict[str, Any] = dict(_exporter_args_map().get(metric_cls, {}))
    lease = _stats_lease()
    if lease is not None:
        kwargs["lease"] = lease
    reader = reader_cls(metric_cls(**kwargs))
    add(reader)
    # The SDK's MeterProvider flushes and shuts down only the readers given to its constructor,
    # not added ones: otel-aa flushes this one itself (hooks.flush_providers) and at exit.
    _state["ga_reader"] = reader
    atexit.register(_shutdown_added_ga_reader)
    _register_gauges(provider)


def ga_metric_reader() -> Any:
    """The GA daily-stats reader this process added, or None."""
    return _state.get("ga_reader")


def _shutdown_added_ga_reader() -> None:
    reader = _state.pop("ga_reader", None)
    if reader is not None:
        _shutdown_ga_reader(reader)


@guarded("otel_aa.shutdown()")
def shutdown() -> None:
    """Flush and stop what :func:`configure` started, within the flush timeout; idempotent.

    Runs by itself at interpreter exit. Call it first where the process's resources go away
    before that (a test, an embedded demo deleting its database).
    """
    _shutdown_added_ga_reader()
    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        stop = getattr(provider, "shutdown", None)
        if stop is not None:
            stop()


@guarded("shutting the daily-stats reader down")
def _shutdown_ga_reader(reader: Any) -> None:
    # A last chance to send when due (the lease decides), then stop the reader.
    from otel_aa.hooks import flush_ga_reader, flush_timeout

    flush_ga_reader(reader)
    reader.shutdown(timeout_millis=int(flush_timeout() * 1000))


def _stats_lease() -> Any:
    try:
        from otel_aa.stats import DjangoLease
    except ImportError:
        return None
    return DjangoLease()


def _register_gauges(provider: Any) -> None:
    try:
        from otel_aa.stats import register_gauges
    except ImportError:
        return
    register_gauges(provider)


class OtelAAConfigurator(_OTelSDKConfigurator):
    """``opentelemetry_configurator`` entry point ``otel_aa``: the SDK's configurator, GA-aware."""

    def _configure(self, **kwargs: Any) -> None:
        with _lock:
            set_default_environment()
            kwargs.setdefault("sampler", _sampler())
            kwargs.setdefault("export_span_processor", export_span_processor)
            exporter_args = _exporter_args_map()
            exporter_args.update(kwargs.get("exporter_args_map") or {})
            kwargs["exporter_args_map"] = exporter_args
            with _metrics_without_ga() as ga_metrics:
                super()._configure(**kwargs)
            if _otlp_allowlist():
                _allowlist_metrics()
            if ga_metrics:
                _guarded_add_reader()
            compat.log_analytics_disabled_once()
            _state["configured"] = True
            _state["pid"] = os.getpid()
        _startup_line()


@guarded("applying the OTLP allowlist to metrics")
def _allowlist_metrics() -> None:
    """Reduce what the global meter provider exports: attributes by an SDK ``View`` (the
    instrumentations' request metrics carry the Host header), the resource to the SDK's own.

    Before any instrument exists (the readers read the views per new instrument). The SDK has no
    public way to change a built provider's views or resource, hence its ``_sdk_config``.
    """
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.view import View
    from opentelemetry.sdk.resources import Resource

    from otel_aa.privacy import ALLOWED_METRIC_ATTRIBUTES, ALLOWED_RESOURCE_ATTRIBUTES

    provider = metrics.get_meter_provider()
    config = getattr(provider, "_sdk_config", None)
    if not isinstance(provider, MeterProvider) or config is None:
        _logger.warning("otel-aa: OTEL_AA_OTLP_ALLOWLIST can't reduce this meter provider's metrics")
        return
    config.views = (View(instrument_name="*", attribute_keys=set(ALLOWED_METRIC_ATTRIBUTES)),)
    config.resource = Resource({key: value for key, value in config.resource.attributes.items()
                                if key in ALLOWED_RESOURCE_ATTRIBUTES})


@guarded("the start-up line")
def _startup_line() -> None:
    # One line per process, once Django's logging is in force (otel_aa.startup).
    from otel_aa import startup

    startup.started()


@guarded("setting up the daily-stats metric reader")
def _guarded_add_reader() -> None:
    _add_ga_metric_reader()


def is_configured() -> bool:
    """Whether the global tracer provider has a GA exporter behind the allowlist."""
    provider = trace.get_tracer_provider()
    multi = getattr(provider, "_active_span_processor", None)
    processors = getattr(multi, "_span_processors", ()) or ()
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
    """Set up otel-aa from code: call it at the top of ``wsgi.py`` and ``celery.py``.

    Idempotent and never raises. Sets the same environment defaults as the distro, runs the
    configurator (unless ``opentelemetry-instrument`` already set the SDK up), then instruments
    Django (with otel-aa's response hook) and Celery and connects the Celery hooks.
    """
    with _lock:
        set_default_environment()
        if not _state["configured"] and not _sdk_provider_set():
            OtelAAConfigurator().configure()
        _state["configured"] = True
        _state["pid"] = os.getpid()
        _instrument()
    _startup_line()


def ensure_configured() -> None:
    """In a forked child: configure if the parent never did (idempotent)."""
    if not _sdk_provider_set():
        configure()
    else:
        _instrument()


def _instrument() -> None:
    from otel_aa import hooks

    _instrument_django(hooks.django_response_hook)
    _instrument_celery()
    hooks.connect_celery_signals()


@guarded("instrumenting Django")
def _instrument_django(response_hook: Any) -> None:
    try:
        from opentelemetry.instrumentation.django import DjangoInstrumentor
    except ImportError:
        return
    from django.conf import settings

    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        # The instrumentor would call settings.configure() with empty settings and break the
        # site's own start-up: configure() must come after DJANGO_SETTINGS_MODULE is set.
        _logger.warning("otel-aa: Django isn't set up yet (no DJANGO_SETTINGS_MODULE); Django is not "
                        "instrumented. Call otel_aa.configure() after setting DJANGO_SETTINGS_MODULE.")
        return
    instrumentor = DjangoInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(response_hook=response_hook, **instrumentation_kwargs())
    from otel_aa.lean import patch_django_instrumentation

    patch_django_instrumentation()


def instrumentation_kwargs() -> dict[str, Any]:
    """Extra arguments for the Django and Celery instrumentors.

    When GA is the only metrics exporter, nobody reads the instrumentations' request-duration
    histograms and active-request counters, yet the SDK would aggregate them on every request
    and task: a no-op meter provider skips that work (about a fifth of otel-aa's cost per
    request, see docs/performance.md). Any other metrics exporter (``otlp``) gets them as usual.
    """
    names = {n.strip() for n in os.environ.get(OTEL_METRICS_EXPORTER, "").split(",")} - {"", "none"}
    if names <= {_GA_NAME}:
        from opentelemetry.metrics import NoOpMeterProvider

        return {"meter_provider": NoOpMeterProvider()}
    return {}


@guarded("instrumenting Celery")
def _instrument_celery() -> None:
    try:
        from opentelemetry.instrumentation.celery import CeleryInstrumentor
    except ImportError:
        return
    instrumentor = CeleryInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument(**instrumentation_kwargs())
    from otel_aa.lean import patch_celery_instrumentation

    patch_celery_instrumentation()
