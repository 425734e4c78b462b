"""Names of the settings the ``otel_aa`` distro reads.

Each name is an environment variable or, when Django is configured, a Django setting of the same
name; the environment wins. The exporter's own settings (``OTEL_EXPORTER_GA_*``) are listed in
:mod:`opentelemetry.exporter.google_analytics.environment_variables`; the standard ``OTEL_*``
variables (``OTEL_TRACES_EXPORTER``, ``OTEL_TRACES_SAMPLER``, ...) keep their usual meaning.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

ANALYTICS_DISABLED = "ANALYTICS_DISABLED"
"""
.. envvar:: ANALYTICS_DISABLED

Alliance Auth's own switch: when true, nothing is sent to GA (OTLP is unaffected). A value that
can't be read (``"y"``, ``"2"``, ``"disable"``, a list) counts as true, reported once. The distro
hands it to the exporter as the exporter's
:envvar:`~opentelemetry.exporter.google_analytics.environment_variables.OTEL_EXPORTER_GA_DISABLED`
(which, set, wins). Default: ``false``.
"""
DEFAULT_ANALYTICS_DISABLED = False

OTEL_AA_OTLP_ALLOWLIST = "OTEL_AA_OTLP_ALLOWLIST"
"""
.. envvar:: OTEL_AA_OTLP_ALLOWLIST

When true, everything otel-aa's SDK set-up sends to exporters other than GA (e.g. ``otlp`` in
``OTEL_TRACES_EXPORTER=ga,otlp`` and ``OTEL_METRICS_EXPORTER=ga,otlp``) is reduced by the same
privacy allowlist as GA's:

- spans: only the attributes of :data:`otel_aa.privacy.ALLOWED_SPAN_ATTRIBUTES` (and prefixes),
  no events, links, parent or status text, names rebuilt from the method and route;
- metrics (the instrumentations' request metrics carry the Host header as ``server.address``):
  an SDK ``View`` keeps only the attributes of :data:`otel_aa.privacy.ALLOWED_METRIC_ATTRIBUTES`;
- the resource of spans and metrics (``host.name``, ``host.id``, ``process.*``,
  ``service.name``, ``service.instance.id``, ``OTEL_RESOURCE_ATTRIBUTES``): only
  :data:`otel_aa.privacy.ALLOWED_RESOURCE_ATTRIBUTES` (the SDK's name, language and version).

Logs are not covered (otel-aa sets ``OTEL_LOGS_EXPORTER=none``), nor providers or processors
you build yourself. When false, your own backend gets the full spans and metrics. A value that
can't be read (``"sure"``, ``"2"``) turns the allowlist on (it fails closed). Default: ``false``.
"""
DEFAULT_OTLP_ALLOWLIST = False

OTEL_AA_FLUSH_TIMEOUT = "OTEL_AA_FLUSH_TIMEOUT"
"""
.. envvar:: OTEL_AA_FLUSH_TIMEOUT

Seconds a Celery worker child waits, at most, for its spans and metrics to be exported before it
exits (``worker_process_shutdown``, e.g. when recycled by ``worker_max_tasks_per_child``).
Default: ``10``.
"""
DEFAULT_FLUSH_TIMEOUT = 10.0

OTEL_AA_TITLE_MAX_LENGTH = "OTEL_AA_TITLE_MAX_LENGTH"
"""
.. envvar:: OTEL_AA_TITLE_MAX_LENGTH

Longest page title, in characters, the Django response hook records (GA4 itself keeps at most
100 characters of a parameter value). Default: ``100``.
"""
DEFAULT_TITLE_MAX_LENGTH = 100

OTEL_AA_PAGE_TITLE = "OTEL_AA_PAGE_TITLE"
"""
.. envvar:: OTEL_AA_PAGE_TITLE

What a page view's ``page_title`` holds. ``view_name``: the resolved route's view name, e.g.
``authentication:dashboard`` (code: the same for every visitor and language, and the response
is not read). ``html``: the page's HTML ``<title>``, but only once the same title was seen on
that route from :envvar:`OTEL_AA_PAGE_TITLE_K` distinct visitors (the view name until then).
Risk of ``html``: a title shared by k visitors is sent as it is, so a title quoting something
common to k visitors (a group or corporation name, an alliance's own name) reaches GA, and one
person seen as k visitors (k devices, logged out) can release a title about them. An unreadable
value means ``view_name``. Default: ``view_name``.
"""
DEFAULT_PAGE_TITLE = "view_name"

OTEL_AA_PAGE_TITLE_K = "OTEL_AA_PAGE_TITLE_K"
"""
.. envvar:: OTEL_AA_PAGE_TITLE_K

With ``OTEL_AA_PAGE_TITLE=html``: how many distinct visitors must have seen a route's HTML title
before it is sent (at least 2). An unreadable value sends view names only. Default: ``5``.
"""
DEFAULT_PAGE_TITLE_K = 5

#: The standard ``OTEL_*`` variables otel-aa gives a default when the admin hasn't (the distro
#: sets them, :func:`otel_aa._distro.set_default_environment`): GA for traces and metrics, no logs
#: (GA has no use for them), and the OTLP protocol otel-aa ships an exporter for.
DEFAULT_ENVIRONMENT: Mapping[str, str] = {
    "OTEL_TRACES_EXPORTER": "ga",
    "OTEL_METRICS_EXPORTER": "ga",
    "OTEL_LOGS_EXPORTER": "none",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
}


def exporter_names(variable: str) -> list[str]:
    """The exporters ``variable`` (``OTEL_TRACES_EXPORTER``, ...) names, else otel-aa's default.

    As the SDK reads it: comma-separated, ``none`` alone meaning none.
    """
    raw = os.environ.get(variable, "").strip() or DEFAULT_ENVIRONMENT.get(variable, "")
    if raw.lower() == "none":
        return []
    return [name.strip() for name in raw.split(",") if name.strip()]
