"""The span attributes and metric names the mapping reads.

Semantic-convention names come in both HTTP modes (the old ``http.method`` family, and the stable
``http.request.method`` family selected by ``OTEL_SEMCONV_STABILITY_OPT_IN=http``). The ``ga.*``
names are set by the ``otel_aa`` distro (or any app) for GA only; the ``METRIC_*`` names are the
daily-stats gauges, shared with the code that defines them.
"""

from __future__ import annotations

# --- HTTP semantic conventions (both modes) ------------------------------------------------------
HTTP_REQUEST_METHOD = "http.request.method"
"""Stable HTTP semconv: request method."""
HTTP_METHOD = "http.method"
"""Old HTTP semconv: request method."""
HTTP_RESPONSE_STATUS_CODE = "http.response.status_code"
"""Stable HTTP semconv: response status code."""
HTTP_STATUS_CODE = "http.status_code"
"""Old HTTP semconv: response status code."""
HTTP_ROUTE = "http.route"
"""The matched route template (both modes)."""
HTTP_RESPONSE_HEADER_CONTENT_TYPE = "http.response.header.content-type"
"""A captured response header (a sequence of strings), when header capture is on."""

METHOD_ATTRIBUTES = (HTTP_REQUEST_METHOD, HTTP_METHOD)
STATUS_ATTRIBUTES = (HTTP_RESPONSE_STATUS_CODE, HTTP_STATUS_CODE)

# --- Celery instrumentation ----------------------------------------------------------------------
CELERY_ACTION = "celery.action"
"""``run`` on the worker's span for a task execution (``apply_async`` on the caller's)."""
CELERY_TASK_NAME = "celery.task_name"
"""The task's registered name, e.g. ``allianceauth.eveonline.tasks.update_character``."""
CELERY_STATE = "celery.state"
"""The task's final state, e.g. ``SUCCESS``, ``FAILURE``, ``RETRY``."""

# --- exception events (semconv) ------------------------------------------------------------------
EXCEPTION_EVENT = "exception"
EXCEPTION_TYPE = "exception.type"
"""Qualified class name of a recorded exception (only its class-name part is ever sent)."""

# --- set by the otel_aa distro for GA ------------------------------------------------------------
GA_PAGE_TITLE = "ga.page.title"
"""Page title as the distro sets it (``otel_aa``: the route's view name, code, never page content)."""
GA_PAGE_LANGUAGE = "ga.page.language"
"""The visitor's language as one of the site's languages (``otel_aa``: a ``LANGUAGES`` code), e.g. ``de``."""
GA_PAGE_CONTENT_TYPE = "ga.page.content_type"
"""Response media type without parameters, e.g. ``text/html``."""
GA_TASK_RESULT = "ga.task.result"
"""``Success``, the exception's class name, or ``Retry`` (a retry sends nothing)."""
GA_TASK_VALUE = "ga.task.value"
"""The task's integer return value (GA ``value``; default 1)."""
GA_EVENT_NAME = "ga.event.name"
"""Turns any span into a custom GA event of this name."""
GA_EVENT_STREAM = "ga.event.stream"
"""``celery_events`` or ``daily_stats`` (or ``page_views``): the token flag that admits the event."""
GA_EVENT_PARAM_PREFIX = "ga.event.param."
"""``ga.event.param.<name>``: the custom event's params."""

# --- daily-stats gauges (metric names) -----------------------------------------------------------
METRIC_INSTALL_EXISTENCE = "aa.install.existence"
"""Value 1; attribute :data:`ATTR_INSTALL_KIND` (``docker`` or ``baremetal``)."""
METRIC_USERS = "aa.users"
"""Number of users."""
METRIC_ESI_TOKENS = "aa.esi.tokens"
"""Number of ESI tokens."""
METRIC_APPS = "aa.apps"
"""Number of installed apps (add-ons)."""
METRIC_APP_INSTALLED = "aa.app.installed"
"""Value 1, one point per installed app, attribute :data:`ATTR_APP_LABEL`."""
METRIC_VERSION = "aa.version"
"""Value 1, attribute :data:`ATTR_VERSION`: the running Alliance Auth version (no GA event)."""

ATTR_INSTALL_KIND = "aa.install.kind"
ATTR_APP_LABEL = "aa.app.label"
ATTR_VERSION = "aa.version"

INSTALL_KINDS = ("docker", "baremetal")
