"""otel-aa: privacy-first usage analytics for Alliance Auth, built on OpenTelemetry.

Page views, Celery task events and daily install statistics go to Google Analytics 4 (one stream
per configured token), through an explicit privacy allowlist (:mod:`otel_aa.privacy`); the same
telemetry can go, in full, to your own OTLP backend alongside.

Set-up
------

1. Add ``"otel_aa"`` to ``INSTALLED_APPS`` and run ``migrate``.
2. Give it a GA4 destination, e.g. in ``local.py``::

       OTEL_EXPORTER_GA_MEASUREMENT_ID = "G-XXXXXXXXXX"
       OTEL_EXPORTER_GA_API_SECRET = "..."

   (or ``OTEL_EXPORTER_GA_TOKENS`` for several; environment variables win over settings).
3. Start it, one of two ways:

   - zero-code, with ``opentelemetry-instrument``::

         DJANGO_SETTINGS_MODULE=myauth.settings.local \\
         OTEL_PYTHON_CONFIGURATOR=otel_aa OTEL_PYTHON_DISTRO=otel_aa \\
         OTEL_TRACES_EXPORTER=ga OTEL_METRICS_EXPORTER=ga \\
         opentelemetry-instrument gunicorn myauth.wsgi

     and the same in front of every ``celery -A myauth`` program (``worker``,
     ``worker_services``, ``beat``): the README shows this as AA's ``supervisor.conf``
     environment;
   - from code: call :func:`configure` at the top of ``wsgi.py`` and ``celery.py``, after
     ``DJANGO_SETTINGS_MODULE`` is set and before Django loads (``get_wsgi_application()``)::

         import otel_aa
         otel_aa.configure()

4. ``python manage.py check`` reports bad analytics settings; each process logs one line at
   start (logger ``otel_aa``) saying what it sends to GA, or why nothing.

With an OTLP backend, ``OTEL_TRACES_EXPORTER=ga,otlp`` also sends full spans there
(``OTEL_EXPORTER_OTLP_ENDPOINT``); set ``OTEL_AA_OTLP_ALLOWLIST=true`` to apply GA's allowlist
there too. ``ANALYTICS_DISABLED = True`` (Alliance Auth's switch) stops everything going to GA.

Custom events
-------------

Apps send their own events with Alliance Auth's signature::

    from otel_aa import analytics_event
    analytics_event(namespace="myapp", task="sync_done", label="corp", value=3)

It only records a span (no network on the calling thread); the GA exporter sends it in the
background to the tokens whose ``celery_events`` flag (``daily_stats`` for ``event_type="Stats"``)
is on.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.google_analytics import attributes as attr
from opentelemetry.trace import SpanKind

from otel_aa._guard import guarded

__version__ = "0.1.0"

__all__ = ["__version__", "analytics_event", "configure", "shutdown"]

_tracer = trace.get_tracer("otel_aa", __version__)
_state: dict[str, object] = {"started": False, "warned_pid": None}


def _check_started() -> None:
    import os

    from otel_aa._configurator import is_configured

    if is_configured():
        _state["started"] = True  # checked no more in this process
        return
    if _state["warned_pid"] == os.getpid():
        return
    _state["warned_pid"] = os.getpid()
    import logging

    logging.getLogger("otel_aa").warning(
        "otel-aa: analytics_event() was called in a process where otel-aa isn't started (no GA "
        "exporter): the event is not sent. Start the process with opentelemetry-instrument and "
        "OTEL_PYTHON_CONFIGURATOR=otel_aa, or call otel_aa.configure() first."
    )


def configure() -> None:
    """Set otel-aa up from code; idempotent, never raises. See the module docs."""
    from otel_aa._configurator import configure as _configure

    _configure()


def shutdown() -> None:
    """Flush and stop what :func:`configure` started (also done at exit); never raises."""
    from otel_aa._configurator import shutdown as _shutdown

    _shutdown()


@guarded("otel_aa.analytics_event()")
def analytics_event(
    namespace: str,
    task: str,
    label: str = "",
    result: str = "",
    value: int = 1,
    event_type: str = "Celery",
) -> None:
    """Record a custom GA event (``celery_event``), as Alliance Auth's ``analytics_event()`` did.

    ``event_type="Stats"`` puts it in the ``daily_stats`` stream, anything else in
    ``celery_events``. Returns None and never raises; sends nothing without a configured
    otel-aa (a plain ``manage.py shell``, say: logged once, as a warning) or while
    ``ANALYTICS_DISABLED`` is on.
    """
    if not _state["started"]:
        _check_started()
    stream = "daily_stats" if event_type == "Stats" else "celery_events"
    param = attr.GA_EVENT_PARAM_PREFIX
    attributes: dict[str, str | int] = {
        attr.GA_EVENT_NAME: "celery_event",
        attr.GA_EVENT_STREAM: stream,
        param + "namespace": str(namespace),
        param + "task": str(task),
        param + "label": str(label),
        param + "result": str(result),
        param + "value": value if isinstance(value, int) and not isinstance(value, bool) else 1,
    }
    # The attributes go in at start so the sampler sees ga.event.name (see otel_aa._sampling).
    span = _tracer.start_span("celery_event", kind=SpanKind.INTERNAL, attributes=attributes)
    span.end()
