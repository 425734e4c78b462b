"""Who reads what the instrumentations collect: the verdicts :mod:`otel_aa._lean`'s patches act on.

Each looks at private parts of the SDK's tracer provider (its processors tuple) or of contrib's
Django middleware (its tracer and request-metric instruments); they are called only by those
patches, so only at the versions :data:`otel_aa._internals.SUPPORTED_VERSIONS` declares. Where a part
can't be told, the verdict is "read": the instrumentation then does its full work.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.exporter.google_analytics import attributes as attr
from opentelemetry.metrics import NoOpHistogram, NoOpUpDownCounter
from opentelemetry.util.http import sanitize_method

from otel_aa._allowlist_processor import AllowlistSpanProcessor
from otel_aa._guard import guarded
from otel_aa._internals import span_processors

__all__ = [
    "analytics_request_attributes",
    "full_spans_read",
    "request_attributes_unread",
    "request_metrics_read",
    "spans_unread",
    "tracer_of",
]

_NO_OP_INSTRUMENTS = (type(None), NoOpHistogram, NoOpUpDownCounter)
_INSTRUMENTS = ("_duration_histogram_old", "_duration_histogram_new", "_active_request_counter")
# The semantic-convention modes (_StabilityMode values) reporting the old and the new names.
_OLD_NAMES = frozenset({"default", "http/dup"})
_NEW_NAMES = frozenset({"http", "http/dup"})
# (the processors tuple the verdict is for, the verdict): one object, read and replaced whole, so
# a thread never pairs one tuple with another's verdict. The SDK replaces the tuple whenever a
# processor is added, which is what makes it a key.
_spans_verdict: tuple[Any, bool] = (None, False)


def full_spans_read(source: Any = None) -> bool:
    """Whether anything but the allowlist reads the spans of ``source``: a ``TracerProvider``, or
    an SDK tracer or span (the processors its spans go to); by default the global provider. True
    where that can't be told (not the SDK's) and for a provider without processors (one may come).
    """
    global _spans_verdict
    if source is None:
        source = trace.get_tracer_provider()
    processors = span_processors(source)
    if processors is None:
        return True
    key, verdict = _spans_verdict
    if key is not processors:
        verdict = not (bool(processors) and all(isinstance(p, AllowlistSpanProcessor) for p in processors))
        _spans_verdict = (processors, verdict)
    return verdict


def request_metrics_read(middleware: Any) -> bool:
    """Whether the Django middleware's request metrics go anywhere (not no-op instruments)."""
    return not all(isinstance(getattr(middleware, name, None), _NO_OP_INSTRUMENTS) for name in _INSTRUMENTS)


def analytics_request_attributes(environ: Any, sem_conv_opt_in_mode: Any = None) -> dict[str, str]:
    """The request attributes GA can use, as the instrumentation names them: the method only,
    normalised its way (a standard verb, else ``_OTHER``); the tests check it equals what the
    allowlist keeps of the instrumentation's full output."""
    method = sanitize_method(str(environ.get("REQUEST_METHOD") or "")).strip()
    mode = str(getattr(sem_conv_opt_in_mode, "value", sem_conv_opt_in_mode or "default"))
    attributes = {}
    if mode in _OLD_NAMES:
        attributes[attr.HTTP_METHOD] = method
    if mode in _NEW_NAMES:
        attributes[attr.HTTP_REQUEST_METHOD] = method
    return attributes


def tracer_of(middleware: Any) -> Any:
    # The Django middleware's tracer, made from the provider given to the instrumentor; until the
    # SDK is set up a proxy, which follows the global provider.
    tracer = getattr(middleware, "_tracer", None)
    return tracer if getattr(tracer, "span_processor", None) is not None else None


# On the request thread: guarded, and on failure the instrumentation does its full work.
@guarded("deciding what the instrumentations collect", default=False)
def spans_unread(source: Any) -> bool:
    return not full_spans_read(source)


@guarded("deciding what the Django instrumentation collects", default=False)
def request_attributes_unread(middleware: Any) -> bool:
    return not full_spans_read(tracer_of(middleware)) and not request_metrics_read(middleware)
