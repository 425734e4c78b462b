"""The default mapping: spans to GA4 events under both HTTP semantic-convention modes, and the
metrics an app's rules name; an app's own mapping extends it."""

from __future__ import annotations

from typing import Any

import pytest
from ga_test_support import (
    ATTR_PLUGIN,
    HTML_PAGE,
    METRIC_PLUGINS,
    METRIC_RUNS,
    METRIC_USERS,
    AppMapping,
    SpanFactory,
)
from opentelemetry.exporter.google_analytics import GAMapping
from opentelemetry.exporter.google_analytics._counts import AGGREGATE_PARAM
from opentelemetry.exporter.google_analytics._mapping import PLACEHOLDER_ORIGIN, DefaultMapping, session_id
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader, MetricsData
from opentelemetry.trace import SpanKind

span_to_event = DefaultMapping().span_to_event

OLD_HTTP = {"http.method": "GET", "http.status_code": 200}
NEW_HTTP = {"http.request.method": "GET", "http.response.status_code": 200}
BOTH_MODES = pytest.mark.parametrize("http", [OLD_HTTP, NEW_HTTP], ids=["old-semconv", "stable-semconv"])

# What instrumentation records on a server span that must never reach GA.
CANARIES = {
    "http.url": "https://aa.example.org/character/91234567/?token=CANARY-QUERY",
    "url.full": "https://aa.example.org/character/91234567/?token=CANARY-QUERY",
    "url.query": "token=CANARY-QUERY",
    "http.target": "/character/91234567/?token=CANARY-QUERY",
    "url.path": "/character/91234567/",
    "http.host": "aa.example.org",
    "server.address": "aa.example.org",
    "net.peer.ip": "203.0.113.7",
    "client.address": "203.0.113.7",
    "http.user_agent": "CANARY-UA",
    "user_agent.original": "CANARY-UA",
    "enduser.id": "CANARY-USER",
}


def _page_attrs(http: dict[str, Any], **extra: Any) -> dict[str, Any]:
    base = {k: v for k, v in HTML_PAGE.items() if k not in NEW_HTTP}
    return {**base, **http, **CANARIES, **extra}


def test_the_default_and_an_apps_own_mapping_are_ga_mappings() -> None:
    assert isinstance(DefaultMapping(), GAMapping)
    assert isinstance(AppMapping(), GAMapping)
    assert DefaultMapping().maps_counts is False  # no counter named: the reader stays lazy
    assert AppMapping().maps_counts is True


@BOTH_MODES
def test_html_get_2xx_with_route_is_a_page_view(spans: SpanFactory, http: dict[str, Any]) -> None:
    span = spans.make(attributes=_page_attrs(http))
    event = span_to_event(span)
    assert event is not None
    assert event.name == "page_view"
    assert event.stream == "page_views"
    assert event.route == "/character/<int:character_id>/"
    assert event.params["page_location"] == PLACEHOLDER_ORIGIN + "/character/<int:character_id>/"
    assert event.params["page_title"] == "Character sheet"
    assert event.params["language"] == "en-us"
    assert isinstance(event.params["engagement_time_msec"], int)
    assert event.params["engagement_time_msec"] >= 1
    assert event.params["session_id"] == session_id(event.timestamp_micros)
    assert str(event.params["session_id"]).isdigit()
    assert event.timestamp_micros == span.end_time // 1000
    assert event.aggregate is None
    text = repr(event)
    for canary in ("CANARY", "91234567", "aa.example.org", "203.0.113.7"):
        assert canary not in text


@BOTH_MODES
@pytest.mark.parametrize(("change", "why"), [
    ({"method": "POST"}, "not a GET"),
    ({"status": 302}, "a redirect"),
    ({"status": 404}, "not found"),
    ({"status": 500}, "an error"),
    ({"ga.page.content_type": "application/json"}, "JSON"),
    ({"ga.page.content_type": None}, "no content type known"),
    ({"http.route": None}, "no route resolved"),
])
def test_not_a_page_view(spans: SpanFactory, http: dict[str, Any], change: dict[str, Any], why: str) -> None:
    attrs = _page_attrs(http)
    change = dict(change)
    method_key, status_key = list(http)
    if "method" in change:
        attrs[method_key] = change.pop("method")
    if "status" in change:
        attrs[status_key] = change.pop("status")
    attrs.update(change)
    span = spans.make(attributes={k: v for k, v in attrs.items() if v is not None})
    assert span_to_event(span) is None, why


def test_content_type_from_captured_response_header(spans: SpanFactory) -> None:
    attrs = _page_attrs(NEW_HTTP, **{"ga.page.content_type": None})
    attrs["http.response.header.content-type"] = ("text/html; charset=utf-8",)
    span = spans.make(attributes={k: v for k, v in attrs.items() if v is not None})
    event = span_to_event(span)
    assert event is not None and event.name == "page_view"


def test_root_route_is_slash(spans: SpanFactory) -> None:
    event = span_to_event(spans.page(**{"http.route": ""}))
    assert event is not None
    assert event.params["page_location"] == PLACEHOLDER_ORIGIN + "/"
    assert event.route == "/"


def test_the_route_template_attribute_wins_over_http_route(spans: SpanFactory) -> None:
    # The instrumenting side knows its routes: ga.page.route is the template, as it gives it.
    span = spans.page(**{"http.route": "^character/(?P<character_id>[0-9]+)/$",
                         "ga.page.route": "/character/<character_id>/"})
    event = span_to_event(span)
    assert event is not None
    assert event.params["page_location"] == PLACEHOLDER_ORIGIN + "/character/<character_id>/"
    assert event.route == "/character/<character_id>/"
    # Without a leading slash, one is added; a route template alone is a resolved route.
    event = span_to_event(spans.page(**{"http.route": None, "ga.page.route": "<admin>/auth/user/"}))
    assert event is not None and event.route == "/<admin>/auth/user/"


def test_without_a_template_http_route_is_taken_as_it_is(spans: SpanFactory) -> None:
    # No parser here: a regex route is code, and it is sent as written.
    event = span_to_event(spans.page(**{"http.route": "^api/(\\d+)/detail\\.json$"}))
    assert event is not None
    assert event.params["page_location"] == PLACEHOLDER_ORIGIN + "/^api/(\\d+)/detail\\.json$"


def test_a_task_run_is_no_event_of_the_default(spans: SpanFactory) -> None:
    # The exporter knows no task system: an app's mapping names its task events.
    span = spans.task("sync")
    assert span_to_event(span) is None
    event = AppMapping().span_to_event(span)
    assert event is not None and event.name == "celery_event" and event.aggregate is False
    assert event.params["task"] == "sync" and "session_id" in event.params


def test_custom_event(spans: SpanFactory) -> None:
    span = spans.make("fleet joined", SpanKind.INTERNAL, {
        "ga.event.name": "fleet_join", "ga.event.stream": "daily_stats",
        "ga.event.param.fleet_type": "mining", "ga.event.param.pilots": 12,
        "http.route": "fleet/<int:fleet_id>/",
    })
    event = span_to_event(span)
    assert event is not None
    assert event.name == "fleet_join" and event.stream == "daily_stats"
    assert event.params["fleet_type"] == "mining" and event.params["pilots"] == 12
    assert event.route == "/fleet/<int:fleet_id>/"  # what a token's ignore_paths are matched against
    assert event.aggregate is None  # either kind of token takes it


def test_custom_event_with_an_unknown_stream_is_a_celery_events_one(spans: SpanFactory) -> None:
    span = spans.make("x", SpanKind.CONSUMER, {"ga.event.name": "thing", "ga.event.stream": "nonsense"})
    event = AppMapping().span_to_event(span)  # the custom event comes first, in any mapping
    assert event is not None and event.name == "thing" and event.stream == "celery_events"
    assert event.route is None


def test_internal_span_is_nothing(spans: SpanFactory) -> None:
    assert span_to_event(spans.make("db", SpanKind.INTERNAL, {"db.system": "mysql"})) is None


def _collect(*, gauges: dict[str, list[tuple[int, dict[str, str]]]], runs: list[tuple[int, dict[str, str]]],
             ) -> MetricsData:
    reader = InMemoryMetricReader(preferred_temporality={Counter: AggregationTemporality.DELTA})
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("tests.mapping")
    for name, points in gauges.items():
        def callback(options: CallbackOptions, points: list[tuple[int, dict[str, str]]] = points
                     ) -> list[Observation]:
            return [Observation(value, attrs) for value, attrs in points]

        meter.create_observable_gauge(name, callbacks=[callback])
    counter = meter.create_counter(METRIC_RUNS)
    for value, attrs in runs:
        counter.add(value, attrs)
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    return data


def test_metric_and_count_rules_make_events_and_nothing_else_does() -> None:
    data = _collect(gauges={METRIC_USERS: [(42, {})],
                            METRIC_PLUGINS: [(1, {ATTR_PLUGIN: "srp"}), (1, {ATTR_PLUGIN: "fat"})],
                            "unrelated.metric": [(5, {})]},
                    runs=[(3, {"job": "sync"}), (1, {"job": "audit"}), (2, {"other": "x"})])
    assert DefaultMapping().metrics_to_events(data) == []  # no rules: no metric is an event
    events = AppMapping().metrics_to_events(data)
    reports = sorted((e.params["label"], e.params["value"]) for e in events if e.aggregate is None)
    assert reports == [("fat", 1), ("srp", 1), ("users", 42)]
    assert {e.stream for e in events if e.aggregate is None} == {"daily_stats"}
    counts = sorted((e.params["task"], e.params["value"]) for e in events if e.aggregate is True)
    assert counts == [("audit", 1), ("sync", 3)]  # the point the rule can't read is dropped
    assert all(e.params[AGGREGATE_PARAM] >= 1 for e in events if e.aggregate is True)
    for event in events:
        assert event.params["engagement_time_msec"] == 1
        assert event.params["session_id"] == session_id(event.timestamp_micros)
        assert event.name == "celery_event"
