"""The attribute and metric names of Alliance Auth and Celery that otel-aa sets or reads.

One place for them: the hooks that set them, the mapping that reads them
(:mod:`otel_aa._ga_mapping`), the privacy allowlist (:mod:`otel_aa.privacy`) and the gauges import
these. The generic names (HTTP semantic conventions, ``ga.page.*``, ``ga.event.*``) are the GA
exporter's, in :mod:`opentelemetry.exporter.google_analytics.attributes`.
"""

from __future__ import annotations

from opentelemetry.semconv.attributes import exception_attributes

# --- Celery instrumentation (opentelemetry-instrumentation-celery) -------------------------------
CELERY_ACTION = "celery.action"
"""``run`` on the worker's span for a task execution (``apply_async`` on the caller's)."""
CELERY_TASK_NAME = "celery.task_name"
"""The task's registered name, e.g. ``allianceauth.eveonline.tasks.update_character``."""
CELERY_STATE = "celery.state"
"""The task's final state, e.g. ``SUCCESS``, ``FAILURE``, ``RETRY``."""

# --- exception events (semantic conventions) ----------------------------------------------------
EXCEPTION_EVENT = "exception"
"""The span event ``record_exception`` adds."""
EXCEPTION_TYPE = exception_attributes.EXCEPTION_TYPE
"""Qualified class name of a recorded exception (only its class-name part is ever sent)."""

# --- set by otel-aa's Celery hooks for GA --------------------------------------------------------
GA_TASK_RESULT = "ga.task.result"
"""``Success``, the exception's class name, or ``Retry`` (a retry sends nothing)."""
GA_TASK_VALUE = "ga.task.value"
"""The task's integer return value (GA ``value``; default 1)."""

# --- the daily-stats gauges (otel_aa._stats) -----------------------------------------------------
METRIC_INSTALL_EXISTENCE = "aa.install.existence"
"""Value 1; attribute :data:`ATTR_INSTALL_KIND` (one of :data:`INSTALL_KINDS`)."""
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
"""How the install runs: one of :data:`INSTALL_KINDS`."""
ATTR_APP_LABEL = "aa.app.label"
"""An installed app's label (code: ``INSTALLED_APPS``)."""
ATTR_VERSION = "aa.version"
"""The Alliance Auth version (code: the installed release)."""

INSTALL_KINDS = ("docker", "baremetal")

# --- task runs, counted (otel_aa._task_counts) ---------------------------------------------------
METRIC_TASK_RUNS = "aa.celery.task.runs"
"""Counter of finished Celery task runs (retries are not runs)."""
ATTR_TASK_NAMESPACE = "aa.task.namespace"
"""The task's module without ``.tasks`` (``other``: not a dotted name)."""
ATTR_TASK_NAME = "aa.task.name"
"""The task's function name (``other`` likewise)."""
ATTR_TASK_RESULT = "aa.task.result"
"""``Success`` or a failure's exception class name (else ``Error``)."""
TASK_COUNT_ATTRIBUTES = frozenset({ATTR_TASK_NAMESPACE, ATTR_TASK_NAME, ATTR_TASK_RESULT})
"""The counter's attribute names (the OTLP allowlist keeps them: each value is code)."""
