"""The table of GA fields in the docs (``otel_aa._ga_fields.GA_FIELDS``) covers every field the
exporter emits: a page view, a task event, a failed task, a custom event and the daily stats are
sent to the loopback collector and each field path of each body must be listed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from opentelemetry.exporter.google_analytics import GoogleAnalyticsMetricExporter, GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_aa import _configurator as configurator
from otel_aa import names
from otel_aa._ga_fields import GA_FIELDS
from otel_aa._ga_mapping import AAMapping
from privacy.conftest import TOKENS


class _Granted:
    def due(self) -> bool:
        return True

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


def _paths(value: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, f"{prefix}.{key}" if prefix else key)
    elif isinstance(value, list):
        for inner in value:
            yield from _paths(inner, prefix + "[]")
    else:
        yield prefix


def _send_everything(ga: GACollector) -> None:
    args = {"tokens": TOKENS, "endpoint": ga.endpoint, "client_id": "privacy-client", "validate": False,
            "timeout": 5, "user_properties": lambda: {"allianceauth_version": "4.6.0"},
            "mapping": AAMapping()}
    provider = TracerProvider()
    provider.add_span_processor(configurator.export_span_processor(GoogleAnalyticsSpanExporter(**args)))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("GET x/", kind=SpanKind.SERVER, attributes={
            "http.method": "GET", "http.status_code": 200, "http.route": "x/",
            "ga.page.content_type": "text/html", "ga.page.title": "x", "ga.page.language": "de"}):
        pass
    for result in ("Success", "ValueError"):
        with tracer.start_as_current_span("run/app.tasks.t", kind=SpanKind.CONSUMER, attributes={
                "celery.action": "run", "celery.task_name": "app.tasks.t", "ga.task.result": result,
                "ga.task.value": 3}) as span:
            if result != "Success":
                span.set_status(Status(StatusCode.ERROR))
    with tracer.start_as_current_span("custom", kind=SpanKind.INTERNAL, attributes={
            "ga.event.name": "celery_event", "ga.event.stream": "celery_events",
            "ga.event.param.namespace": "app", "ga.event.param.task": "t", "ga.event.param.label": "l",
            "ga.event.param.result": "Success", "ga.event.param.value": 1}):
        pass
    assert provider.force_flush(10_000)
    provider.shutdown()

    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])

    def users(options: CallbackOptions) -> list[Observation]:
        return [Observation(7)]

    meters.get_meter("otel_aa").create_observable_gauge("aa.users", callbacks=[users])
    data = reader.get_metrics_data()
    meters.shutdown()
    assert data is not None
    exporter = GoogleAnalyticsMetricExporter(lease=_Granted(), **args)
    exporter.export(data)
    exporter.shutdown()

    # Aggregated task events: the task-run counter, as deltas, to a token that takes counts.
    delta = InMemoryMetricReader(preferred_temporality={Counter: AggregationTemporality.DELTA})
    meters = MeterProvider(metric_readers=[delta])
    runs = meters.get_meter("otel_aa").create_counter(names.METRIC_TASK_RUNS)
    runs.add(3, {"aa.task.namespace": "app", "aa.task.name": "t", "aa.task.result": "Success"})
    data = delta.get_metrics_data()
    meters.shutdown()
    assert data is not None
    counting = [dict(t, aggregate_celery_events=True) for t in TOKENS]
    exporter = GoogleAnalyticsMetricExporter(lease=_Granted(), **dict(args, tokens=counting))
    exporter.export(data)
    exporter.shutdown()


def test_the_table_covers_every_field_sent(ga: GACollector) -> None:
    ga.clear()
    _send_everything(ga)
    bodies = [json.loads(hit.raw) for hit in ga.hits]
    names = {event["name"] for body in bodies for event in body["events"]}
    assert names == {"page_view", "celery_event"}
    assert len([e for b in bodies for e in b["events"]]) >= 6
    assert any(e["params"].get("aggregate") for b in bodies for e in b["events"])
    sent = {path for body in bodies for path in _paths(body)}
    listed = {field.path for field in GA_FIELDS}
    assert sent - listed == set(), "fields sent that the docs' table doesn't list"
    # And the table lists nothing that isn't sent (it would be a stale row).
    assert listed - sent == set()


def test_every_row_says_where_from_and_why() -> None:
    for field in GA_FIELDS:
        assert field.source.strip() and field.belongs_to.strip() and field.events.strip()
    assert len({field.path for field in GA_FIELDS}) == len(GA_FIELDS)
