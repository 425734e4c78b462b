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

import logging
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.environment_variables import OTEL_METRICS_EXPORTER
from opentelemetry.sdk._configuration import _OTelSDKConfigurator
from opentelemetry.sdk.environment_variables import OTEL_BSP_MAX_EXPORT_BATCH_SIZE
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import Sampler

from otel_aa import compat, identity, stats_reader
from otel_aa._guard import guarded
from otel_aa.instrumenting import instrument
from otel_aa.otlp_allowlist import otlp_allowlist_on, reduce_metrics
from otel_aa.privacy import AllowlistSpanProcessor
from otel_aa.sampling import AnalyticsSampler
from otel_aa.stats_reader import ga_metric_reader

__all__ = [
    "DEFAULT_ENVIRONMENT",
    "OtelAAConfigurator",
    "configure",
    "ensure_configured",
    "export_span_processor",
    "ga_metric_reader",
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
    stats_reader.add(metric_cls, reader_cls, _exporter_args_map().get(metric_cls, {}))


@guarded("otel_aa.shutdown()")
def shutdown() -> None:
    """Flush and stop what :func:`configure` started, within the flush timeout; idempotent.

    Runs by itself at interpreter exit. Call it first where the process's resources go away
    before that (a test, an embedded demo deleting its database).
    """
    stats_reader.shutdown_added()
    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        stop = getattr(provider, "shutdown", None)
        if stop is not None:
            stop()


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
            if otlp_allowlist_on():
                reduce_metrics()
            if ga_metrics:
                _guarded_add_reader()
            compat.log_analytics_disabled_once()
            _state["configured"] = True
            _state["pid"] = os.getpid()
        _startup_line()


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
        instrument()
    _startup_line()


def ensure_configured() -> None:
    """In a forked child: configure if the parent never did (idempotent)."""
    if not _sdk_provider_set():
        configure()
    else:
        instrument()
