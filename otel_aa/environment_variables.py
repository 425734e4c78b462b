"""Names of the settings the ``otel_aa`` distro reads.

Each name is an environment variable or, when Django is configured, a Django setting of the same
name; the environment wins. The exporter's own settings (``OTEL_EXPORTER_GA_*``) are listed in
:mod:`opentelemetry.exporter.google_analytics.environment_variables`; the standard ``OTEL_*``
variables (``OTEL_TRACES_EXPORTER``, ``OTEL_TRACES_SAMPLER``, ...) keep their usual meaning.
"""

from __future__ import annotations

OTEL_AA_OTLP_ALLOWLIST = "OTEL_AA_OTLP_ALLOWLIST"
"""
.. envvar:: OTEL_AA_OTLP_ALLOWLIST

When true, spans sent to every exporter other than GA (e.g. ``otlp`` in
``OTEL_TRACES_EXPORTER=ga,otlp``) pass through the same privacy allowlist as GA's: only the
attributes listed in :data:`otel_aa.privacy.ALLOWED_SPAN_ATTRIBUTES` leave the process. When
false, your own backend gets the full spans. Default: ``false``.
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
