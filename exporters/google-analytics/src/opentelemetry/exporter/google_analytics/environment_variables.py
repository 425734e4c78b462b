"""Names of the settings the Google Analytics exporters read.

Each name is an environment variable or a host setting of the same name (the exporter's
``settings`` argument: a mapping or a lookup the application hands in); the environment wins,
and an argument given to an exporter's constructor wins over both. Values are resolved once,
when an exporter is built, and again by :func:`~opentelemetry.exporter.google_analytics._config.
reload_settings` (which a host calls once its settings are loaded).
"""

from __future__ import annotations

OTEL_EXPORTER_GA_TOKENS = "OTEL_EXPORTER_GA_TOKENS"
"""
.. envvar:: OTEL_EXPORTER_GA_TOKENS

A JSON list of GA4 destinations ("tokens"), each an object
``{"name", "measurement_id", "api_secret", "page_views", "celery_events", "daily_stats",
"ignore_paths": [regex, ...]}``. Flags left out take the defaults of
:envvar:`OTEL_EXPORTER_GA_PAGE_VIEWS` and friends. As a host setting it may also be the list
itself. A malformed token is reported once and skipped; the others still run.
"""

OTEL_EXPORTER_GA_MEASUREMENT_ID = "OTEL_EXPORTER_GA_MEASUREMENT_ID"
"""
.. envvar:: OTEL_EXPORTER_GA_MEASUREMENT_ID

The measurement id (``G-...``) of one token, the short way; goes with
:envvar:`OTEL_EXPORTER_GA_API_SECRET`. Used alongside :envvar:`OTEL_EXPORTER_GA_TOKENS`.
"""

OTEL_EXPORTER_GA_API_SECRET = "OTEL_EXPORTER_GA_API_SECRET"
"""
.. envvar:: OTEL_EXPORTER_GA_API_SECRET

The Measurement Protocol API secret of the short-form token. Never logged: messages show it
masked.
"""

OTEL_EXPORTER_GA_PAGE_VIEWS = "OTEL_EXPORTER_GA_PAGE_VIEWS"
"""
.. envvar:: OTEL_EXPORTER_GA_PAGE_VIEWS

Default for a token's ``page_views`` flag: send ``page_view`` events. A value that can't be
read (``"y"``, ``"2"``) turns the stream off, reported once; so does a token's own unreadable
flag (the token keeps its other streams). Default: ``true``.
"""
DEFAULT_PAGE_VIEWS = True

OTEL_EXPORTER_GA_CELERY_EVENTS = "OTEL_EXPORTER_GA_CELERY_EVENTS"
"""
.. envvar:: OTEL_EXPORTER_GA_CELERY_EVENTS

Default for a token's ``celery_events`` flag: send a ``celery_event`` per Celery task run (and
custom events of that stream). Unreadable: off, as for :envvar:`OTEL_EXPORTER_GA_PAGE_VIEWS`.
Default: ``true``.
"""
DEFAULT_CELERY_EVENTS = True

OTEL_EXPORTER_GA_AGGREGATE_CELERY_EVENTS = "OTEL_EXPORTER_GA_AGGREGATE_CELERY_EVENTS"
"""
.. envvar:: OTEL_EXPORTER_GA_AGGREGATE_CELERY_EVENTS

Default for a token's ``aggregate_celery_events`` flag: instead of one ``celery_event`` per task
run, one per (task, result) per :envvar:`OTEL_EXPORTER_GA_TASK_INTERVAL` and process, with the
count as ``value`` (the metric exporter reads it from a task-run counter it is given). A value
that can't be read turns aggregation on (it sends less), reported once. Default: ``false``.
"""
DEFAULT_AGGREGATE_CELERY_EVENTS = False

OTEL_EXPORTER_GA_DAILY_STATS = "OTEL_EXPORTER_GA_DAILY_STATS"
"""
.. envvar:: OTEL_EXPORTER_GA_DAILY_STATS

Default for a token's ``daily_stats`` flag: send the daily install statistics. Unreadable: off.
Default: ``true``.
"""
DEFAULT_DAILY_STATS = True

OTEL_EXPORTER_GA_IGNORE_PATHS = "OTEL_EXPORTER_GA_IGNORE_PATHS"
"""
.. envvar:: OTEL_EXPORTER_GA_IGNORE_PATHS

Comma-separated regular expressions, applied for every token (merged with each token's own
``ignore_paths``). A page view whose route template (e.g. ``/admin/<path:object_id>/``) one of
them matches (``re.search``) is not sent. Default: none.
"""
DEFAULT_IGNORE_PATHS: tuple[str, ...] = ()

OTEL_EXPORTER_GA_ENDPOINT = "OTEL_EXPORTER_GA_ENDPOINT"
"""
.. envvar:: OTEL_EXPORTER_GA_ENDPOINT

The Measurement Protocol collect URL. For EU data collection use
``https://region1.google-analytics.com/mp/collect``. A value that isn't a valid http(s) URL
string (a tuple, bytes, an empty string, white space) turns GA delivery off, reported once; it
never falls back to the default. User-info and query values in it are masked wherever it is
shown. Default: ``https://www.google-analytics.com/mp/collect``.
"""
DEFAULT_ENDPOINT = "https://www.google-analytics.com/mp/collect"

OTEL_EXPORTER_GA_TIMEOUT = "OTEL_EXPORTER_GA_TIMEOUT"
"""
.. envvar:: OTEL_EXPORTER_GA_TIMEOUT

Seconds to wait for each HTTP request (connect and read). Default: ``10``.
"""
DEFAULT_TIMEOUT = 10.0

OTEL_EXPORTER_GA_STATS_INTERVAL = "OTEL_EXPORTER_GA_STATS_INTERVAL"
"""
.. envvar:: OTEL_EXPORTER_GA_STATS_INTERVAL

Seconds between two sends of the daily statistics by the metric exporter. Default: ``86400``.
"""
DEFAULT_STATS_INTERVAL = 86400.0

OTEL_EXPORTER_GA_TASK_INTERVAL = "OTEL_EXPORTER_GA_TASK_INTERVAL"
"""
.. envvar:: OTEL_EXPORTER_GA_TASK_INTERVAL

Seconds between two collections of the task-run counts for tokens that aggregate (and between
two checks whether the daily statistics are due). Default: ``60``.
"""
DEFAULT_TASK_INTERVAL = 60.0

OTEL_EXPORTER_GA_VALIDATE = "OTEL_EXPORTER_GA_VALIDATE"
"""
.. envvar:: OTEL_EXPORTER_GA_VALIDATE

Post to GA's validation server (``/debug/mp/collect``) instead of collecting, and log every
validation message it returns. Nothing sent there shows in reports. Default: ``false`` (a host
may answer it from its own debug switch: the ``otel_aa`` distro's lookup gives Django's ``DEBUG``).
"""

OTEL_EXPORTER_GA_CLIENT_ID = "OTEL_EXPORTER_GA_CLIENT_ID"
"""
.. envvar:: OTEL_EXPORTER_GA_CLIENT_ID

The GA ``client_id`` sent with every hit: the install's identifier. Default: a random UUIDv4 per
process. A constructor argument outranks it; the ``otel_aa`` distro passes none that does: it
sends this value when set, else the install's persistent identifier.
"""

OTEL_EXPORTER_GA_DISABLED = "OTEL_EXPORTER_GA_DISABLED"
"""
.. envvar:: OTEL_EXPORTER_GA_DISABLED

The kill switch: when true, nothing is sent to GA. A value that can't be read (``"y"``, ``"2"``,
``"disable"``, a list) counts as true, reported once (it fails closed). A host may map its own switch
onto it through its settings lookup (the ``otel_aa`` distro maps Alliance Auth's
``ANALYTICS_DISABLED``). Default: ``false``.
"""
DEFAULT_DISABLED = False
