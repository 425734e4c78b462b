"""Hooks the instrumentations call: what GA needs, read cheaply, and nothing that identifies.

- :func:`django_response_hook`, passed to ``DjangoInstrumentor().instrument(response_hook=...)``:
  the page's media type, title (the view name), language (one of ``settings.LANGUAGES``) and,
  for the root and admin pages, the route. No network, no database query; the body is read (its
  first bytes) only in the opt-in ``OTEL_AA_PAGE_TITLE=html`` mode.
- Celery signal handlers (:func:`connect_celery_signals`): the task's result (``Success``, the
  name of an exception class that is code, ``Retry``) and int64 return value on the
  instrumentor's span; each finished run counted (:mod:`otel_aa.task_counts`, retries not);
  the worker child's set-up after fork and its flush before it exits.

Every hook runs inside :func:`otel_aa._guard.guarded`: nothing here raises into a view or task.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.exporter.google_analytics import settings as ga_settings
from opentelemetry.trace import Span, SpanKind

from otel_aa import environment_variables as env
from otel_aa._guard import guarded
from otel_aa.closed_sets import exception_name, int64_or_one, is_code_name, site_language
from otel_aa.task_counts import count_run
from otel_aa.titles import HEAD_BYTES, page_title, title_mode, view_title

__all__ = [
    "ADMIN_PLACEHOLDER",
    "HEAD_BYTES",
    "admin_route",
    "celery_task_failure",
    "celery_task_retry",
    "celery_task_success",
    "celery_worker_process_init",
    "celery_worker_process_shutdown",
    "connect_celery_signals",
    "django_response_hook",
    "exception_class_name",
    "flush_ga_reader",
    "flush_providers",
    "flush_timeout",
]

_logger = logging.getLogger(__name__)

#: Stands in for the admin site's mount point in an admin page's route.
ADMIN_PLACEHOLDER = "<admin>/"

PAGE_TITLE = "ga.page.title"
PAGE_LANGUAGE = "ga.page.language"
PAGE_CONTENT_TYPE = "ga.page.content_type"
PAGE_ROUTE = "ga.page.route"
TASK_RESULT = "ga.task.result"
TASK_VALUE = "ga.task.value"
HTTP_ROUTE = "http.route"


# --- Django ---------------------------------------------------------------------------------


@guarded("Django response hook")
def django_response_hook(span: Span, request: Any, response: Any) -> None:
    """Record the page's media type, language, title and route on ``span``: each code or a member
    of a closed set (:mod:`otel_aa.closed_sets`, :mod:`otel_aa.titles`), never content.

    What is cheap and can't fail is set first, in one call (each set_attribute takes the span's
    lock); the ``html`` title mode's body read comes after, so a failure there keeps the rest.
    Path values are never converted to text: they are not sent.
    """
    if span is None or not span.is_recording():
        return
    content_type = response.get("Content-Type", "") if hasattr(response, "get") else ""
    if not isinstance(content_type, str):
        content_type = ""
    media_type = content_type.split(";", 1)[0].strip().lower()
    found: dict[str, str] = {}
    if media_type:
        found[PAGE_CONTENT_TYPE] = media_type
    match = getattr(request, "resolver_match", None)
    found.update(_route_attributes(span, request, match))
    is_page = media_type == "text/html"
    if is_page:
        title = view_title(match)
        if title:
            found[PAGE_TITLE] = title
    if found:
        span.set_attributes(found)
    language = site_language(request.META.get("HTTP_ACCEPT_LANGUAGE"))
    if language:
        span.set_attribute(PAGE_LANGUAGE, language)
    if is_page and title_mode() == "html":
        html = page_title(request, response, content_type, "html")
        if html and html != found.get(PAGE_TITLE):
            span.set_attribute(PAGE_TITLE, html)


def _route_attributes(span: Span, request: Any, match: Any) -> dict[str, str]:
    """The root route (the instrumentor sets ``http.route`` only for a truthy one: ``path("", ...)``
    would look unresolved) and, for an admin page, the route with the admin's mount replaced."""
    if match is None:
        return {}
    found: dict[str, str] = {}
    route = getattr(match, "route", None)
    if route is not None and not route:
        attributes = getattr(span, "attributes", None)
        if attributes is None or HTTP_ROUTE not in attributes:
            found[HTTP_ROUTE] = ""
    if isinstance(route, str) and "admin" in (getattr(match, "app_names", None) or ()):
        found[PAGE_ROUTE] = admin_route(match, getattr(request, "urlconf", None))
    return found


def admin_route(match: Any, urlconf: Any = None) -> str:
    """``<admin>/`` and the admin's own part of the route: the mount point (often a secret path,
    ``path("ops-7f3k2q9Zx/", admin.site.urls)``) never reaches GA."""
    from django.conf import settings

    route = str(match.route)
    namespaces = tuple(str(n) for n in (getattr(match, "namespaces", None) or ()))
    from django.urls import get_script_prefix

    mount = _admin_mount(urlconf if isinstance(urlconf, str) else settings.ROOT_URLCONF, namespaces,
                         get_script_prefix())
    for prefix in (mount, "^" + mount) if mount else ():
        if route.startswith(prefix):
            return ADMIN_PLACEHOLDER + route[len(prefix):]
    # A mount that can't be cut off cleanly (a regex): the admin URL's name stands in.
    url_name = getattr(match, "url_name", None)
    return ADMIN_PLACEHOLDER + (str(url_name) if is_code_name(url_name) else "")


@functools.lru_cache(maxsize=32)
def _admin_mount(urlconf: str, namespaces: tuple[str, ...], script_prefix: str) -> str | None:
    # The admin index's path without the script prefix: the route's mount part. Cached: reverse()
    # walks the resolver.
    from django.urls import NoReverseMatch, reverse

    try:
        index = reverse(":".join((*namespaces, "index")), urlconf=urlconf)
    except NoReverseMatch:
        return None
    return index[len(script_prefix):] if index.startswith(script_prefix) else index.lstrip("/")


# --- Celery ----------------------------------------------------------------------------------


def _task_span(sender: Any) -> Span | None:
    # The Celery instrumentor's CONSUMER span is current from task_prerun to task_postrun, and
    # the result signals fire in between, in the same thread.
    span = trace.get_current_span()
    if not span.is_recording() or getattr(span, "kind", None) is not SpanKind.CONSUMER:
        return None
    return span


@guarded("Celery task_success hook")
def celery_task_success(sender: Any = None, result: Any = None, **kwargs: Any) -> None:
    """``Success``, and the return value when it is an ``int`` (not a ``bool``); one run counted."""
    span = _task_span(sender)
    if span is not None:
        span.set_attribute(TASK_RESULT, "Success")
        if isinstance(result, int) and not isinstance(result, bool):
            # Within int64, else 1: OTLP's encoder logs an error for every span with a bigger int.
            span.set_attribute(TASK_VALUE, int64_or_one(result))
    count_run(getattr(sender, "name", None), "Success")


@guarded("Celery task_failure hook")
def celery_task_failure(sender: Any = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    """The exception's class name, never its message; one run counted."""
    name = exception_class_name(exception)
    span = _task_span(sender)
    if span is not None:
        span.set_attribute(TASK_RESULT, name)
    count_run(getattr(sender, "name", None), name)


def exception_class_name(exception: BaseException | None) -> str:
    """The class name GA gets for a failed task: never the exception's text (see
    :func:`otel_aa.closed_sets.exception_name`: code, or the placeholder ``Error``)."""
    return exception_name(exception)


@guarded("Celery task_retry hook")
def celery_task_retry(sender: Any = None, **kwargs: Any) -> None:
    """``Retry``: a retry is not a failure, and GA gets no event for it."""
    span = _task_span(sender)
    if span is None:
        return
    span.set_attribute(TASK_RESULT, "Retry")


@guarded("Celery worker_process_init hook")
def celery_worker_process_init(**kwargs: Any) -> None:
    """In a prefork child: make sure the providers and instrumentations work after the fork.

    The SDK's batch processors and periodic reader restart their threads after ``fork`` by
    themselves; what a child may lack is the instrumentation when the parent was set up by
    ``otel_aa.configure()`` after the pool forked, so configure again (idempotent).
    """
    from otel_aa.configurator import ensure_configured

    ensure_configured()


@guarded("Celery worker_process_shutdown hook")
def celery_worker_process_shutdown(**kwargs: Any) -> None:
    """Before a prefork child exits (``worker_max_tasks_per_child``, shutdown): flush, bounded."""
    flush_providers()


def flush_timeout() -> float:
    """:envvar:`OTEL_AA_FLUSH_TIMEOUT`, in seconds."""
    return float(ga_settings.resolve(env.OTEL_AA_FLUSH_TIMEOUT, None, env.DEFAULT_FLUSH_TIMEOUT,
                                   ga_settings.parse_positive_float))


def flush_ga_reader(reader: Any) -> None:
    """Send the daily stats if the lease says they are due; otherwise don't even collect.

    A forced collection would count rows in the database at every recycled Celery child's exit,
    only for the lease to refuse the send.
    """
    collect_if_due = getattr(reader, "collect_if_due", None)
    if collect_if_due is not None:
        collect_if_due()
    else:
        reader.force_flush(timeout_millis=int(flush_timeout() * 1000))


def flush_providers(timeout_seconds: float | None = None) -> bool:
    """Flush the global tracer and meter providers within ``timeout_seconds``, and GA's stats if due."""
    if timeout_seconds is None:
        timeout_seconds = flush_timeout()
    deadline = time.monotonic() + timeout_seconds
    ok = True
    from otel_aa.configurator import ga_metric_reader

    reader = ga_metric_reader()
    if reader is not None:
        flush_ga_reader(reader)
    for provider in (trace.get_tracer_provider(), metrics.get_meter_provider()):
        force_flush = getattr(provider, "force_flush", None)
        if force_flush is None:
            continue
        millis = max(int((deadline - time.monotonic()) * 1000), 1)
        try:
            ok = bool(force_flush(millis)) and ok
        except Exception as exc:  # the meter provider raises on a reader's time-out
            _logger.warning("otel-aa: flushing %s failed (%s)", type(provider).__name__, type(exc).__name__)
            ok = False
    return ok


_SIGNALS = {
    "task_success": celery_task_success,
    "task_failure": celery_task_failure,
    "task_retry": celery_task_retry,
    "worker_process_init": celery_worker_process_init,
    "worker_process_shutdown": celery_worker_process_shutdown,
}


@guarded("connecting the Celery hooks")
def connect_celery_signals() -> bool:
    """Connect the Celery handlers (idempotent). Return False when Celery isn't installed."""
    try:
        from celery import signals
    except ImportError:
        return False
    for name, handler in _SIGNALS.items():
        getattr(signals, name).connect(handler, weak=False, dispatch_uid=f"otel_aa.hooks.{name}")
    return True
