"""Helpers for the GA exporter tests: tokens, finished spans from a real SDK TracerProvider, and
the mapping of a test app of its own (the exporter's default maps no task runs and no metric)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.exporter.google_analytics._counts import CountRule
from opentelemetry.exporter.google_analytics._events import GAEvent, ParamValue
from opentelemetry.exporter.google_analytics._mapping import DefaultMapping, MetricRule, span_event
from opentelemetry.sdk.metrics.export import NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

MEASUREMENT_ID = "G-TEST0001"
SECRET = "s3cr3t-CANARY-api-secret-value"
OTHER_ID = "G-TEST0002"
OTHER_SECRET = "other-CANARY-secret-value-2"

HTML_PAGE = {
    "http.request.method": "GET",
    "http.response.status_code": 200,
    "http.route": "character/<int:character_id>/",
    "ga.page.content_type": "text/html",
    "ga.page.title": "Character sheet",
    "ga.page.language": "en-us",
}


def token(measurement_id: str = MEASUREMENT_ID, secret: str = SECRET, **flags: Any) -> dict[str, Any]:
    return {"name": measurement_id.lower(), "measurement_id": measurement_id, "api_secret": secret,
            **flags}


class SpanFactory:
    """Finished spans made by a real SDK TracerProvider."""

    def __init__(self) -> None:
        self.memory = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        self.tracer = self.provider.get_tracer("exporter-tests")

    def make(self, name: str = "GET character/<int:character_id>/", kind: SpanKind = SpanKind.SERVER,
             attributes: dict[str, Any] | None = None, error: BaseException | None = None) -> ReadableSpan:
        self.memory.clear()
        with self.tracer.start_as_current_span(name, kind=kind, attributes=attributes or {},
                                               record_exception=False,
                                               set_status_on_exception=False) as span:
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR))
        (finished,) = self.memory.get_finished_spans()
        return finished

    def page(self, **overrides: Any) -> ReadableSpan:
        attributes = {**HTML_PAGE, **overrides}
        return self.make(attributes={k: v for k, v in attributes.items() if v is not None})

    def task(self, job: str = "sync", error: BaseException | None = None, **attributes: Any) -> ReadableSpan:
        """A job run, as :class:`AppMapping` reads it: a CONSUMER span named ``run/<job>``."""
        return self.make(f"run/{job}", SpanKind.CONSUMER, attributes, error)


# --- a test app's own mapping ------------------------------------------------------------------

#: The test app's metrics: a gauge of users, a gauge with one point per installed plugin
#: (attribute :data:`ATTR_PLUGIN`), and a counter of job runs (attribute ``job``).
METRIC_USERS = "app.users"
METRIC_PLUGINS = "app.plugins"
ATTR_PLUGIN = "app.plugin"
METRIC_RUNS = "app.job.runs"


def _report(label: str, value: int) -> dict[str, ParamValue]:
    return {"namespace": "app.stats", "task": "report", "result": "Success", "label": label, "value": value}


def _run_params(attributes: Mapping[str, Any]) -> Mapping[str, ParamValue] | None:
    job = attributes.get("job")
    if not isinstance(job, str):
        return None
    return {"namespace": "app", "task": job, "result": "Success", "label": job}


def _plugin(point: NumberDataPoint) -> list[dict[str, ParamValue]]:
    label = (point.attributes or {}).get(ATTR_PLUGIN)
    return [_report(label, 1)] if isinstance(label, str) else []


class AppMapping(DefaultMapping):
    """The default mapping, plus what an app of its own adds, as the ``otel_aa`` distro does:
    a ``run/<job>`` CONSUMER span is one run's ``celery_event`` (``aggregate=False``: a token
    taking counts skips it), two gauges are reports, and the runs counter gives counts."""

    def __init__(self) -> None:
        super().__init__(
            metric_rules={
                METRIC_USERS: MetricRule("celery_event", lambda point: [_report("users", int(point.value))]),
                METRIC_PLUGINS: MetricRule("celery_event", _plugin),
            },
            count_rules={METRIC_RUNS: CountRule("celery_event", _run_params)},
        )

    def span_to_event(self, span: ReadableSpan) -> GAEvent | None:
        event = super().span_to_event(span)
        if event is None and span.kind is SpanKind.CONSUMER and span.name.startswith("run/"):
            job = span.name[len("run/"):]
            params: dict[str, ParamValue] = {"namespace": "app", "task": job, "result": "Success",
                                             "label": job, "value": 1}
            return span_event(span, "celery_event", params, "celery_events", aggregate=False)
        return event
