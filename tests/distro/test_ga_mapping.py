"""Alliance Auth's mapping (otel_aa._ga_mapping.AAMapping): Celery task runs, AA's daily stats and
task counts as GA events, on top of the exporter's default; spans from a real SDK provider."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.google_analytics import GAMapping
from opentelemetry.exporter.google_analytics._drops import DropCounter
from opentelemetry.exporter.google_analytics._limits import sanitize_event
from opentelemetry.exporter.google_analytics.testing import validate_payload
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from otel_aa import names
from otel_aa._ga_mapping import AAMapping

MAPPING = AAMapping()
_memory = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(_memory))
_tracer = _provider.get_tracer("tests.ga_mapping")


def _span(name: str, kind: SpanKind, attributes: dict[str, Any], error: BaseException | None = None
          ) -> ReadableSpan:
    _memory.clear()
    with _tracer.start_as_current_span(name, kind=kind, attributes=attributes, record_exception=False,
                                       set_status_on_exception=False) as span:
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR))
    (finished,) = _memory.get_finished_spans()
    return finished


def _task(task_name: str = "allianceauth.eveonline.tasks.update_character",
          error: BaseException | None = None, **attributes: Any) -> ReadableSpan:
    attrs = {"celery.action": "run", "celery.task_name": task_name, **attributes}
    return _span(f"run/{task_name}", SpanKind.CONSUMER, attrs, error)


def test_it_is_a_ga_mapping_that_keeps_the_defaults_events() -> None:
    assert isinstance(MAPPING, GAMapping) and MAPPING.maps_counts
    page = _span("GET x/", SpanKind.SERVER, {"http.method": "GET", "http.status_code": 200,
                                             "http.route": "x/", "ga.page.route": "/x/",
                                             "ga.page.content_type": "text/html"})
    event = MAPPING.span_to_event(page)
    assert event is not None and event.name == "page_view" and event.route == "/x/"


def test_task_run_is_a_celery_event() -> None:
    event = MAPPING.span_to_event(_task(**{"ga.task.value": 7}))
    assert event is not None
    assert event.name == "celery_event"
    assert event.stream == "celery_events"
    assert event.route is None
    assert event.aggregate is False  # one run: a token that takes counts skips it
    assert {k: event.params[k] for k in ("namespace", "task", "result", "label", "value")} == {
        "namespace": "allianceauth.eveonline", "task": "update_character", "result": "Success",
        "label": "update_character", "value": 7,
    }
    assert "session_id" in event.params and "engagement_time_msec" in event.params


def test_failed_task_sends_the_exception_class_name_only() -> None:
    class TokenExpiredError(Exception):
        pass

    event = MAPPING.span_to_event(_task(error=TokenExpiredError("token of CANARY-USER expired")))
    assert event is not None
    assert event.params["result"] == "TokenExpiredError"
    assert event.params["value"] == 1
    assert "CANARY" not in repr(event)


def test_task_result_attribute_wins_and_is_a_class_name_or_the_placeholder() -> None:
    event = MAPPING.span_to_event(_task(**{"ga.task.result": "HTTPError"}))
    assert event is not None and event.params["result"] == "HTTPError"
    event = MAPPING.span_to_event(_task(**{"ga.task.result": "boom: user 42"}))
    assert event is not None and event.params["result"] == "Error"


def test_retry_sends_nothing() -> None:
    assert MAPPING.span_to_event(_task(**{"ga.task.result": "Retry"})) is None
    assert MAPPING.span_to_event(_task(**{"celery.state": "RETRY"})) is None


def test_task_name_from_span_name_and_namespace_rules() -> None:
    event = MAPPING.span_to_event(_span("run/myapp.tasks.cleanup", SpanKind.CONSUMER, {}))
    assert event is not None
    assert (event.params["namespace"], event.params["task"]) == ("myapp", "cleanup")
    event = MAPPING.span_to_event(_span("run/x", SpanKind.CONSUMER,
                                        {"celery.action": "run", "celery.task_name": "pkg.jobs.sync"}))
    assert event is not None and event.params["namespace"] == "pkg.jobs"
    event = MAPPING.span_to_event(_task("not a task name: user 42"))
    assert event is not None and (event.params["namespace"], event.params["task"]) == ("other", "other")


def test_publish_span_is_not_an_event() -> None:
    span = _span("apply_async/x.tasks.y", SpanKind.PRODUCER,
                 {"celery.action": "apply_async", "celery.task_name": "x.tasks.y"})
    assert MAPPING.span_to_event(span) is None
    consumer_publish = _span("apply_async/x.tasks.y", SpanKind.CONSUMER,
                             {"celery.action": "apply_async", "celery.task_name": "x.tasks.y"})
    assert MAPPING.span_to_event(consumer_publish) is None


def test_metrics_to_stats_events() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("tests.stats")

    def gauge(name: str, points: list[tuple[int, dict[str, str]]]) -> None:
        def callback(options: CallbackOptions) -> list[Observation]:
            return [Observation(value, attrs) for value, attrs in points]

        meter.create_observable_gauge(name, callbacks=[callback])

    gauge(names.METRIC_INSTALL_EXISTENCE, [(1, {names.ATTR_INSTALL_KIND: "docker"})])
    gauge(names.METRIC_USERS, [(42, {})])
    gauge(names.METRIC_ESI_TOKENS, [(311, {})])
    gauge(names.METRIC_APPS, [(2, {})])
    gauge(names.METRIC_APP_INSTALLED, [(1, {names.ATTR_APP_LABEL: "fleetactivitytracking"}),
                                       (1, {names.ATTR_APP_LABEL: "srp"})])
    gauge(names.METRIC_VERSION, [(1, {names.ATTR_VERSION: "4.6.0"})])
    gauge("unrelated.metric", [(5, {})])
    data = reader.get_metrics_data()
    assert data is not None
    events = MAPPING.metrics_to_events(data)
    provider.shutdown()
    got = sorted((e.params["task"], e.params["label"], e.params["value"]) for e in events)
    assert got == sorted([
        ("send_install_stats", "existence", 1),
        ("send_install_stats", "existence_docker", 1),
        ("send_install_stats", "users", 42),
        ("send_install_stats", "tokens", 311),
        ("send_install_stats", "addons", 2),
        ("send_extension_stats", "fleetactivitytracking", 1),
        ("send_extension_stats", "srp", 1),
    ])
    assert {e.name for e in events} == {"celery_event"}
    assert {e.stream for e in events} == {"daily_stats"}
    assert {e.params["namespace"] for e in events} == {"allianceauth.analytics"}
    assert {e.params["result"] for e in events} == {"Success"}
    assert all(e.aggregate is None for e in events)  # under the lease, for either kind of token


_scalar = st.one_of(st.text(max_size=300), st.integers(min_value=-(2**70), max_value=2**70),
                    st.floats(allow_nan=True, allow_infinity=True), st.booleans())
_value = st.one_of(_scalar, st.lists(st.text(max_size=20), max_size=3))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=120), _value, _value, st.one_of(st.none(), _value), st.booleans())
def test_any_task_attributes_give_a_valid_hit_of_code_or_a_counted_drop(
        task_name: str, result: Any, value: Any, state: Any, failed: bool) -> None:
    attrs = {"ga.task.result": result, "ga.task.value": value}
    if state is not None:
        attrs["celery.state"] = state
    span = _task(task_name, ValueError("CANARY message") if failed else None, **attrs)
    event = MAPPING.span_to_event(span)
    if event is None:
        return
    # Code or a placeholder, whatever the attributes held.
    assert event.params["result"] == "Success" or str(event.params["result"]).isidentifier()
    assert all(part.isidentifier() for part in str(event.params["namespace"]).split("."))
    assert str(event.params["task"]).isidentifier()
    assert isinstance(event.params["value"], int) and -(2**63) <= event.params["value"] < 2**63
    drops = DropCounter()
    clean = sanitize_event(event, drops)
    if clean is None:
        assert drops.total() >= 1
        return
    body = json.dumps({"client_id": "c", "events": [clean.to_json()]}, allow_nan=False)
    assert validate_payload(json.loads(body)) == []
    assert "CANARY" not in body


def test_the_reduced_span_keeps_the_route_template_in_place_of_the_route() -> None:
    from opentelemetry.sdk.resources import Resource

    from otel_aa.privacy import reduced_span

    mount = "ops-7f3k2q9Zx/"  # an admin mounted at a secret path
    span = _span("GET", SpanKind.SERVER, {
        "http.method": "GET", "http.status_code": 200, "http.route": mount + "auth/user/",
        "ga.page.route": "/<admin>/auth/user/", "ga.page.content_type": "text/html"})
    reduced = reduced_span(span, Resource({}))
    assert reduced.attributes is not None
    assert reduced.attributes["ga.page.route"] == reduced.attributes["http.route"] == "/<admin>/auth/user/"
    assert mount not in reduced.name
    event = MAPPING.span_to_event(reduced)
    assert event is not None and event.params["page_location"] == "https://site.invalid/<admin>/auth/user/"
    assert mount not in repr(event)
