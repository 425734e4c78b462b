"""Hooks the instrumentations call: what GA needs, read cheaply, and nothing that identifies.

- :func:`django_response_hook`, passed to ``DjangoInstrumentor().instrument(response_hook=...)``:
  the page's media type, title and language, and the root route. No network, no database query,
  only the first bytes of the response body.
- Celery signal handlers (:func:`connect_celery_signals`): the task's result (``Success``, the
  exception's class name, ``Retry``) and integer return value on the instrumentor's span; the
  worker child's set-up after fork and its flush before it exits.

Every hook runs inside :func:`otel_aa._guard.guarded`: nothing here raises into a view or task.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import metrics, trace
from opentelemetry.exporter.google_analytics import settings as ga_settings
from opentelemetry.trace import Span, SpanKind

from otel_aa import environment_variables as env
from otel_aa._guard import guarded
from otel_aa.privacy import scrub_title

__all__ = [
    "HEAD_BYTES",
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
    "primary_language",
]

_logger = logging.getLogger(__name__)

#: How much of an HTML response the title is looked for in: ``<title>`` sits in ``<head>``.
HEAD_BYTES = 4096

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
# One BCP 47-ish tag: a 2-3 letter language, optional script/region subtags; nothing else gets
# through (a header is client-controlled text).
_LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[a-z0-9]{2,8}){0,2}")
_CHARSET = re.compile(r"charset=([\w.:-]+)", re.IGNORECASE)

PAGE_TITLE = "ga.page.title"
PAGE_LANGUAGE = "ga.page.language"
PAGE_CONTENT_TYPE = "ga.page.content_type"
TASK_RESULT = "ga.task.result"
TASK_VALUE = "ga.task.value"
HTTP_ROUTE = "http.route"


# --- Django ----------------------------------------------------------------------------------


@guarded("Django response hook")
def django_response_hook(span: Span, request: Any, response: Any) -> None:
    """Record the page's media type, title and language, and the root route, on ``span``."""
    if span is None or not span.is_recording():
        return
    content_type = response.get("Content-Type", "") if hasattr(response, "get") else ""
    media_type = content_type.split(";", 1)[0].strip().lower()
    # Collected first and set at once: each set_attribute takes the span's lock.
    found: dict[str, str] = {}
    if media_type:
        found[PAGE_CONTENT_TYPE] = media_type
    _set_route(span, request)
    language = primary_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    if language:
        found[PAGE_LANGUAGE] = language
    if media_type == "text/html" and not getattr(response, "streaming", False):
        title = _page_title(request, response, content_type)
        if title:
            found[PAGE_TITLE] = scrub_title(title, remove=_private_values(request),
                                            max_length=_title_max_length())
    if found:
        span.set_attributes(found)


def _set_route(span: Span, request: Any) -> None:
    # The instrumentor only sets http.route for a truthy route: the root path("", ...) resolves to
    # route "" and would look unresolved.
    match = getattr(request, "resolver_match", None)
    if match is None:
        return
    attributes = getattr(span, "attributes", None)
    if attributes is not None and HTTP_ROUTE in attributes:
        return
    route = getattr(match, "route", None)
    if route is not None and not route:
        span.set_attribute(HTTP_ROUTE, "")


def primary_language(header: str) -> str | None:
    """The first tag of an ``Accept-Language`` header, lowercased, if it is a plain language tag."""
    first = header.split(",", 1)[0].split(";", 1)[0].strip().lower()
    if first and len(first) <= 20 and _LANGUAGE.fullmatch(first):
        return first
    return None


def _page_title(request: Any, response: Any, content_type: str) -> str | None:
    """The HTML title, or the view's name for a page about one object.

    A route with path values (``/character/<int:character_id>/``, an admin change form) shows one
    object, and its title usually names it: a character, a user, a group. Which part of such a
    title is data can't be told from the text, so those pages send the route's view name, which
    is code, never data.
    """
    match = getattr(request, "resolver_match", None)
    if match is not None and (match.kwargs or match.args):
        return str(match.view_name or "") or None
    return _read_title(response, content_type)


def _read_title(response: Any, content_type: str) -> str | None:
    content = getattr(response, "content", b"")
    match = _TITLE.search(bytes(content[:HEAD_BYTES]))
    if match is None:
        return None
    charset = _CHARSET.search(content_type)
    encoding = charset.group(1) if charset else getattr(response, "charset", None) or "utf-8"
    try:
        text = match.group(1).decode(encoding, errors="replace")
    except LookupError:
        text = match.group(1).decode("utf-8", errors="replace")
    return re.sub(r"\s+", " ", html.unescape(text)).strip() or None


def _private_values(request: Any) -> list[str]:
    """What a title may quote about this request: path values, the host, the loaded user."""
    values: list[str] = []
    match = getattr(request, "resolver_match", None)
    if match is not None:
        values.extend(str(v) for v in (match.kwargs or {}).values())
        values.extend(str(v) for v in (match.args or ()))
    host = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME")
    if host:
        values.append(str(host).rsplit(":", 1)[0] if not str(host).startswith("[") else str(host))
    values.extend(_site_identity())
    user = _loaded_user(request)
    if user is not None and getattr(user, "is_authenticated", False):
        for name in ("username", "email", "first_name", "last_name"):
            value = getattr(user, name, None)
            if value:
                values.append(str(value))
        full = " ".join(str(getattr(user, n, "") or "") for n in ("first_name", "last_name")).strip()
        if full:
            values.append(full)
    return values


def _site_identity() -> tuple[str, ...]:
    """The install's own name and public host (AA's ``SITE_NAME``, ``SITE_URL``): they identify it."""
    from django.conf import settings

    name, url = getattr(settings, "SITE_NAME", None), getattr(settings, "SITE_URL", None)
    return _site_values(name, url)


@functools.lru_cache(maxsize=8)
def _site_values(name: Any, url: Any) -> tuple[str, ...]:
    # Keyed by the raw settings, so override_settings still takes effect; parsing is done once.
    values = [str(name or "")]
    if url:
        values.append(urlsplit(str(url)).hostname or "")
    return tuple(value for value in values if value)


def _loaded_user(request: Any) -> Any:
    """``request.user`` if it is already loaded; never triggers the session/user query."""
    user = request.__dict__.get("user")
    if user is None:
        return None
    from django.utils.functional import SimpleLazyObject, empty

    if isinstance(user, SimpleLazyObject):
        wrapped = user.__dict__.get("_wrapped", empty)
        return None if wrapped is empty else wrapped
    return user


def _title_max_length() -> int:
    value = ga_settings.resolve(env.OTEL_AA_TITLE_MAX_LENGTH, None, float(env.DEFAULT_TITLE_MAX_LENGTH),
                              ga_settings.parse_positive_float)
    return int(value)


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
    """``Success``, and the return value when it is an ``int`` (not a ``bool``)."""
    span = _task_span(sender)
    if span is None:
        return
    span.set_attribute(TASK_RESULT, "Success")
    if isinstance(result, int) and not isinstance(result, bool):
        span.set_attribute(TASK_VALUE, result)


@guarded("Celery task_failure hook")
def celery_task_failure(sender: Any = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    """The exception's class name; never its message."""
    span = _task_span(sender)
    if span is None:
        return
    span.set_attribute(TASK_RESULT, exception_class_name(exception))


def exception_class_name(exception: BaseException | None) -> str:
    """The class name GA gets for a failed task: never the exception's text.

    An exception Celery can't pickle (a class made at run time, one whose ``__init__`` takes
    other arguments) reaches the signal as ``UnpickleableExceptionWrapper``; the original class
    name is its ``exc_cls_name``.
    """
    if exception is None:
        return "Failure"
    wrapped = getattr(exception, "exc_cls_name", None)
    if type(exception).__name__ == "UnpickleableExceptionWrapper" and isinstance(wrapped, str) and wrapped:
        return wrapped
    return type(exception).__name__


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
