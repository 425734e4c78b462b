"""Helpers for the GA exporter tests: tokens and finished spans from a real SDK TracerProvider."""

from __future__ import annotations

from typing import Any

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

    def task(self, task_name: str = "allianceauth.eveonline.tasks.update_character",
             error: BaseException | None = None, **attributes: Any) -> ReadableSpan:
        attrs = {"celery.action": "run", "celery.task_name": task_name, **attributes}
        return self.make(f"run/{task_name}", SpanKind.CONSUMER, attrs, error)
