"""otel-aa's Celery signal handlers: what GA needs of a task, and the worker child's flush.

- The task's result (``Success``, the name of an exception class that is code, ``Retry``) and
  its int64 return value go on the Celery instrumentor's CONSUMER span; each finished run is
  counted (:mod:`otel_aa._task_counts`, retries not).
- Before a prefork child exits (``worker_max_tasks_per_child``, shutdown) the providers are
  flushed, within :envvar:`OTEL_AA_FLUSH_TIMEOUT`.

What a forked child needs at ``worker_process_init`` (configure when the parent didn't) is the
configurator's job (:func:`otel_aa._configurator.connect_worker_process_init`): it sits above
this module, which imports neither the configurator nor the instrumentation.

Every handler runs inside :func:`otel_aa._guard.guarded`: nothing here raises into a task.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.trace import Span, SpanKind

from otel_aa import _config as config
from otel_aa._closed_sets import exception_name, int64_or_one
from otel_aa._guard import guarded
from otel_aa._task_counts import count_run
from otel_aa.names import GA_TASK_RESULT, GA_TASK_VALUE

__all__ = [
    "celery_task_failure",
    "celery_task_retry",
    "celery_task_success",
    "celery_worker_process_shutdown",
    "connect_celery_signals",
    "exception_class_name",
    "flush_providers",
    "flush_timeout",
]

_logger = logging.getLogger(__name__)


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
        span.set_attribute(GA_TASK_RESULT, "Success")
        if isinstance(result, int) and not isinstance(result, bool):
            # Within int64, else 1: OTLP's encoder logs an error for every span with a bigger int.
            span.set_attribute(GA_TASK_VALUE, int64_or_one(result))
    count_run(getattr(sender, "name", None), "Success")


@guarded("Celery task_failure hook")
def celery_task_failure(sender: Any = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    """The exception's class name, never its message; one run counted."""
    name = exception_class_name(exception)
    span = _task_span(sender)
    if span is not None:
        span.set_attribute(GA_TASK_RESULT, name)
    count_run(getattr(sender, "name", None), name)


def exception_class_name(exception: BaseException | None) -> str:
    """The class name GA gets for a failed task: never the exception's text (see
    :func:`otel_aa._closed_sets.exception_name`: code, or the placeholder ``Error``)."""
    return exception_name(exception)


@guarded("Celery task_retry hook")
def celery_task_retry(sender: Any = None, **kwargs: Any) -> None:
    """``Retry``: a retry is not a failure, and GA gets no event for it."""
    span = _task_span(sender)
    if span is None:
        return
    span.set_attribute(GA_TASK_RESULT, "Retry")


@guarded("Celery worker_process_shutdown hook")
def celery_worker_process_shutdown(**kwargs: Any) -> None:
    """Before a prefork child exits (``worker_max_tasks_per_child``, shutdown): flush, bounded."""
    flush_providers()


def flush_timeout() -> float:
    """:envvar:`OTEL_AA_FLUSH_TIMEOUT`, in seconds (resolved once, :mod:`otel_aa._config`)."""
    return config.current().flush_timeout


def flush_providers(timeout_seconds: float | None = None) -> bool:
    """Flush the global tracer and meter providers within ``timeout_seconds``.

    The meter provider flushes its readers, GA's daily-stats reader among them, which sends the
    stats only if its lease says they are due (it doesn't even count rows otherwise).
    """
    if timeout_seconds is None:
        timeout_seconds = flush_timeout()
    deadline = time.monotonic() + timeout_seconds
    ok = True
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
        getattr(signals, name).connect(handler, weak=False, dispatch_uid=f"otel_aa._celery_hooks.{name}")
    return True
