"""Counts as GA events: one event per point of a delta counter, the count as ``value``.

An app counts something that happens often (a task run) with an OpenTelemetry ``Counter``; the
metric exporter, given a mapping with a :class:`CountRule` for that counter's name
(:class:`~.mapping.DefaultMapping`'s ``count_rules``), sends one event per attribute set and
interval instead of one per occurrence. The rule, supplied by the app, says which event and which
params a point's attributes stand for: this package knows no app's names.

Each process sends its own deltas (the metric exporter asks for DELTA temporality for counters),
so events from many processes add up without double counting. A cumulative sum is never read
here: sent every interval, it would count the same runs again and again.

:func:`observe_when_due` is for observable instruments whose callbacks are expensive (database
counts): while :class:`~.metric_exporter.GoogleAnalyticsMetricReader` collects counts only (its
lease says no daily send is due), they observe nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from opentelemetry.exporter.google_analytics._events import GAEvent, ParamValue, Stream
from opentelemetry.exporter.google_analytics._mapping_common import named_metrics, point_event
from opentelemetry.sdk.metrics.export import AggregationTemporality, MetricsData, NumberDataPoint, Sum

__all__ = ["AGGREGATE_PARAM", "CountRule", "counts_only_collection", "counts_to_events", "observe_when_due"]

#: The param that marks a count: the length in whole seconds of the interval it counts (>= 1).
AGGREGATE_PARAM = "aggregate"

_T = TypeVar("_T")


@dataclass(frozen=True)
class CountRule:
    """How a counter's points become GA events.

    ``params`` maps a point's attributes to the event's params (values that are code or members
    of a closed set; ``None`` drops the point); ``value`` (the count) and :data:`AGGREGATE_PARAM`
    are added. ``stream`` is the token flag that admits the events.
    """

    event_name: str
    params: Callable[[Mapping[str, Any]], Mapping[str, ParamValue] | None]
    stream: Stream = "celery_events"


def _delta_points(metrics_data: MetricsData,
                  rules: Mapping[str, CountRule]) -> Iterator[tuple[CountRule, NumberDataPoint]]:
    for rule, metric in named_metrics(metrics_data, rules):
        data = metric.data
        if not isinstance(data, Sum) or not data.is_monotonic or \
                data.aggregation_temporality is not AggregationTemporality.DELTA:
            continue
        for point in data.data_points:
            if isinstance(point, NumberDataPoint):
                yield rule, point


def counts_to_events(metrics_data: MetricsData, rules: Mapping[str, CountRule]) -> list[GAEvent]:
    """One event per non-zero delta point of a counter named in ``rules``."""
    events: list[GAEvent] = []
    if not rules:
        return events
    for rule, point in _delta_points(metrics_data, rules):
        count = int(point.value)
        if count <= 0:
            continue
        found = rule.params(point.attributes or {})
        if found is None:
            continue
        seconds = max(1, round((point.time_unix_nano - point.start_time_unix_nano) / 1e9))
        params: dict[str, ParamValue] = dict(found)
        params.update({"value": count, AGGREGATE_PARAM: seconds})
        events.append(point_event(point, rule.event_name, params, rule.stream, aggregate=True))
    return events


_collection = threading.local()


def _counts_only() -> bool:
    return bool(getattr(_collection, "counts_only", False))


class counts_only_collection:
    """While active on this thread, callbacks wrapped by :func:`observe_when_due` observe nothing."""

    def __init__(self, active: bool) -> None:
        self._active = active
        self._before = False

    def __enter__(self) -> None:
        self._before = _counts_only()
        _collection.counts_only = self._active

    def __exit__(self, *exc: object) -> None:
        _collection.counts_only = self._before


def observe_when_due(callback: Callable[[_T], Iterable[Any]]) -> Callable[[_T], Iterable[Any]]:
    """``callback``, except that it observes nothing in a counts-only collection of the GA reader.

    Other readers (OTLP) and the GA reader's due collections call it as before.
    """

    def gated(options: _T) -> Iterable[Any]:
        if _counts_only():
            return []
        return callback(options)

    gated.__wrapped__ = callback  # type: ignore[attr-defined]
    gated.__name__ = getattr(callback, "__name__", "gated")
    return gated
