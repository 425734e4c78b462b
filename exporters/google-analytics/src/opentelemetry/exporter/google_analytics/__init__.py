"""OpenTelemetry exporters for the Google Analytics 4 Measurement Protocol.

Usage guide
===========

Two exporters turn telemetry into GA4 Measurement Protocol hits, one stream per configured
*token* (a measurement id, its API secret, and flags saying what it receives):

- :class:`GoogleAnalyticsSpanExporter` (entry point ``ga`` in
  ``opentelemetry_traces_exporter``): a SERVER span of a GET answered 2xx with ``text/html``
  whose route resolved becomes a ``page_view`` (``page_location`` is a placeholder host plus
  the route *template*, never the real host, path values or query); any span with
  ``ga.event.name`` becomes that custom event. See :mod:`._mapping` and :mod:`.attributes`.
- :class:`GoogleAnalyticsMetricExporter` (entry point ``ga`` in
  ``opentelemetry_metrics_exporter``): the metrics a mapping's rules name become events, at
  most once per ``stats_interval`` (a :class:`SendLease` decides;
  :class:`GoogleAnalyticsMetricReader` collects only when a send is due), and counters become
  counts, every interval.

What becomes an event is the *mapping*'s call: both exporters take ``mapping=`` (a
:class:`GAMapping`; default :class:`DefaultMapping`). An app's own mapping extends the default
(the ``otel_aa`` distro's adds Celery task events and Alliance Auth's daily statistics).

Zero-code::

    OTEL_TRACES_EXPORTER=ga OTEL_METRICS_EXPORTER=ga \\
    OTEL_EXPORTER_GA_MEASUREMENT_ID=G-XXXXXXXXXX OTEL_EXPORTER_GA_API_SECRET=... \\
    opentelemetry-instrument your-app

In code::

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.exporter.google_analytics import (
        RECOMMENDED_EXPORT_BATCH_SIZE, GoogleAnalyticsSpanExporter)

    exporter = GoogleAnalyticsSpanExporter(tokens=[
        {"name": "mine", "measurement_id": "G-XXXXXXXXXX", "api_secret": "...",
         "celery_events": False, "ignore_paths": ["^/admin/"]},
    ])
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(
        exporter, max_export_batch_size=RECOMMENDED_EXPORT_BATCH_SIZE))

Settings (:mod:`.environment_variables`): each argument left ``None`` is read from the
environment variable, else the host setting of the same name (``settings=``: a mapping, or a
lookup ``name -> value or None`` such as the ``otel_aa`` distro's over Django's settings), else
the default, once, into the exporter's :class:`GAConfig`; a host whose settings load later calls
:func:`reload_settings` then. Tokens come from ``OTEL_EXPORTER_GA_TOKENS`` (a JSON list) and/or the short
form ``OTEL_EXPORTER_GA_MEASUREMENT_ID`` + ``OTEL_EXPORTER_GA_API_SECRET``. A malformed token is
reported once (secret masked) and skipped; building an exporter never raises.

Identity: every hit carries ``client_id`` (argument, a string or a zero-arg callable evaluated
on the export thread; else ``OTEL_EXPORTER_GA_CLIENT_ID``; else a random UUIDv4 per process.
The ``otel_aa`` distro passes a callable: the admin's ``OTEL_EXPORTER_GA_CLIENT_ID``, else the
install's persistent id). A callable that returns ``None`` or raises means "not known yet": that
export's events are dropped and counted rather than sent under another id; the first value it
gives is kept. Optional ``user_properties``. Ads personalisation is always denied.

Delivery: events are checked against Google's published limits (:mod:`._limits`: what can be
truncated is, what cannot is dropped and counted), batched up to 25 per request and under
130 kB, and posted over one pooled HTTP session with a timeout on every call. 429, 5xx,
time-outs and refused or reset connections are retried with exponential backoff and jitter,
honouring ``Retry-After``, for at most 30 seconds and never past shutdown; other 4xx are not
retried. ``export()`` never raises. With ``validate`` (``OTEL_EXPORTER_GA_VALIDATE``; default
``false``) hits go to GA's ``/debug/mp/collect`` and each validation message is logged.
The API secret never appears in a log line, a repr or an exception text.

Testing: :class:`~.testing.GACollector` is a Measurement Protocol server on 127.0.0.1 that
records and validates hits and fails on demand.
"""

from __future__ import annotations

# The validation server's URL for a collect URL: public for tools that post sample hits there;
# mask_url: an endpoint as it may be printed (user-info and query values masked).
from opentelemetry.exporter.google_analytics._config import GAConfig, reload_settings
from opentelemetry.exporter.google_analytics._counts import CountRule, observe_when_due
from opentelemetry.exporter.google_analytics._drops import DropCounter
from opentelemetry.exporter.google_analytics._endpoint import debug_endpoint
from opentelemetry.exporter.google_analytics._events import GAEvent, ParamValue, Stream
from opentelemetry.exporter.google_analytics._limits import clean_text, sanitize_event
from opentelemetry.exporter.google_analytics._log import log_once, log_per_window
from opentelemetry.exporter.google_analytics._mapping import DefaultMapping, GAMapping, MetricRule
from opentelemetry.exporter.google_analytics._mapping_common import int64_or_one, is_code_name, span_event
from opentelemetry.exporter.google_analytics._metric_exporter import (
    GoogleAnalyticsMetricExporter,
    GoogleAnalyticsMetricReader,
    InProcessLease,
    SendLease,
)
from opentelemetry.exporter.google_analytics._secrets import mask_url
from opentelemetry.exporter.google_analytics._span_exporter import (
    RECOMMENDED_EXPORT_BATCH_SIZE,
    GoogleAnalyticsSpanExporter,
)
from opentelemetry.exporter.google_analytics._token import TokenProblem
from opentelemetry.exporter.google_analytics._tokens import (
    Token,
    load_tokens,
    load_tokens_report,
    mask_secret,
    merge_tokens,
    parse_token,
)

__version__ = "0.1.0"

__all__ = [
    "RECOMMENDED_EXPORT_BATCH_SIZE",
    "CountRule",
    "DefaultMapping",
    "DropCounter",
    "GAConfig",
    "GAEvent",
    "GAMapping",
    "GoogleAnalyticsMetricExporter",
    "GoogleAnalyticsMetricReader",
    "GoogleAnalyticsSpanExporter",
    "InProcessLease",
    "MetricRule",
    "ParamValue",
    "SendLease",
    "Stream",
    "Token",
    "TokenProblem",
    "__version__",
    "clean_text",
    "debug_endpoint",
    "int64_or_one",
    "is_code_name",
    "load_tokens",
    "load_tokens_report",
    "log_once",
    "log_per_window",
    "mask_secret",
    "mask_url",
    "merge_tokens",
    "observe_when_due",
    "parse_token",
    "reload_settings",
    "sanitize_event",
    "span_event",
]
