"""Building blocks every mapping shares: an event's time, the params GA's Realtime needs, and the
checks that a value is code or a count.

Public through the package root; a mapping of its own (the ``otel_aa`` distro's) builds its events
with :func:`span_event` and :func:`point_event`, so every event carries the same clock readings.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any, TypeVar

from opentelemetry.exporter.google_analytics._events import GAEvent, ParamValue, Stream, new_event
from opentelemetry.sdk.metrics.export import Metric, MetricsData, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "SESSION_WINDOW_SECONDS",
    "first",
    "int64_or_one",
    "is_code_name",
    "point_event",
    "session_id",
    "span_event",
]

#: Length of a GA session as we number them (GA's own default session timeout).
SESSION_WINDOW_SECONDS = 1800
#: Upper bound for ``engagement_time_msec``: one span is not an hour of reading.
MAX_ENGAGEMENT_MSEC = 60_000
_WINDOW_MICROS = SESSION_WINDOW_SECONDS * 1_000_000


@lru_cache(maxsize=64)
def _window_start(window: int) -> str:
    return str(window * SESSION_WINDOW_SECONDS)


#: (first, past-the-last timestamp, session_id) of the window :func:`span_event` last used.
_last_window: tuple[int, int, str] = (0, 0, "")


def session_id(timestamp_micros: int) -> str:
    """GA ``session_id`` for an event: the start of its 30-minute window, in epoch seconds.

    GA keys sessions by ``client_id`` and ``session_id``, so this numbers each client's sessions
    without being derived from anything about a user.
    """
    return _window_start(timestamp_micros // _WINDOW_MICROS)


def first(attrs: Mapping[str, Any], names: tuple[str, ...]) -> Any:
    """The value of the first of ``names`` that ``attrs`` holds (both semconv modes), or None."""
    for name in names:
        value = attrs.get(name)
        if value is not None:
            return value
    return None


def span_event(span: ReadableSpan, name: str, params: dict[str, ParamValue], stream: Stream,
               route: str | None = None, aggregate: bool | None = None) -> GAEvent:
    """The event ``span`` stands for: timed at the span's end, with ``engagement_time_msec`` (the
    span's duration, 1 ms to 1 min) and ``session_id`` added unless ``params`` has them: without
    these two GA leaves hits out of the Realtime report. ``params`` is completed in place."""
    # Runs once per span on the export thread (issue 13): each of the span's times is a property
    # call, so read once; the session is the last one's unless the span left its window (a
    # division of 64-bit ints costs more than two comparisons); the event is made without
    # GAEvent.__new__'s frame.
    global _last_window
    start, end = span.start_time, span.end_time
    timestamp = (end or start or 0) // 1000
    if "engagement_time_msec" not in params:
        msec = (end - start) // 1_000_000 if start and end and end > start else 1
        params["engagement_time_msec"] = 1 if msec < 1 else msec if msec < MAX_ENGAGEMENT_MSEC \
            else MAX_ENGAGEMENT_MSEC
    if "session_id" not in params:
        low, high, session = _last_window
        if not low <= timestamp < high:
            window = timestamp // _WINDOW_MICROS
            low = window * _WINDOW_MICROS
            session = _window_start(window)
            _last_window = (low, low + _WINDOW_MICROS, session)  # one assignment: thread-safe
        params["session_id"] = session
    return new_event(GAEvent, (name, params, timestamp, stream, route, aggregate))


def point_event(point: NumberDataPoint, name: str, params: dict[str, ParamValue], stream: Stream,
                aggregate: bool | None = None) -> GAEvent:
    """The event a metric point stands for: timed at the point, engagement 1 ms, its session."""
    timestamp = point.time_unix_nano // 1000
    params.update({"engagement_time_msec": 1, "session_id": session_id(timestamp)})
    return new_event(GAEvent, (name, params, timestamp, stream, None, aggregate))


def is_code_name(name: object) -> bool:
    """Whether ``name`` is a dotted path of ASCII Python identifiers (``pkg.mod.func``), as a
    class or a function in a module is named; a longer one than 200 characters is not."""
    return isinstance(name, str) and 0 < len(name) <= 200 and name.isascii() and \
        all(part.isidentifier() for part in name.split("."))


def int64_or_one(value: object) -> int:
    """``value`` if it is an ``int`` (not a ``bool``) within int64 (what OTLP and GA carry), else 1."""
    if not isinstance(value, int) or isinstance(value, bool):
        return 1
    plain = int.__index__(value)  # an int subclass's own __int__ or comparisons are not asked
    return plain if -(2**63) <= plain < 2**63 else 1


_Rule = TypeVar("_Rule")


def named_metrics(metrics_data: MetricsData, rules: Mapping[str, _Rule]) -> Iterator[tuple[_Rule, Metric]]:
    """Each metric of ``metrics_data`` that ``rules`` names, with its rule (the gauges' and the
    counters' mappings both walk resources, scopes and metrics this way)."""
    for resource_metrics in metrics_data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                rule = rules.get(metric.name)
                if rule is not None:
                    yield rule, metric
