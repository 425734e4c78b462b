"""Spans and metrics to GA4 events, under both HTTP semantic-convention modes."""

from __future__ import annotations

from typing import Any

import pytest
from ga_test_support import HTML_PAGE, SpanFactory
from opentelemetry.exporter.google_analytics import attributes as attr
from opentelemetry.exporter.google_analytics.mapping import (
    PLACEHOLDER_ORIGIN,
    metrics_to_events,
    route_template,
    session_id,
    span_to_event,
)
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.trace import SpanKind


@pytest.mark.parametrize(("route", "template"), [
    ("", "/"),
    ("^$", "/"),
    ("character/<int:character_id>/", "/character/<int:character_id>/"),
    ("/already/slashed/", "/already/slashed/"),
    ("robots.txt", "/robots.txt"),
    ("^character/(?P<character_id>[0-9]+)/$", "/character/<character_id>/"),
    (r"^api/(\d+)/detail\.json$", "/api/<var>/detail.json"),
    ("^fleet/(?:join|leave)/[a-z]+/$", "/fleet/<var>/<var>/"),
    (r"^srp/(?P<pk>\d+)/(?P<slug>[-\w]+)/\Z", "/srp/<pk>/<slug>/"),
    ("^admin/^auth/user/(?P<object_id>.+)/change/$", "/admin/auth/user/<object_id>/change/"),
])
def test_route_template(route: str, template: str) -> None:
    assert route_template(route) == template


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


def test_task_run_is_a_celery_event(spans: SpanFactory) -> None:
    event = span_to_event(spans.task(**{"ga.task.value": 7}))
    assert event is not None
    assert event.name == "celery_event"
    assert event.stream == "celery_events"
    assert event.route is None
    assert {k: event.params[k] for k in ("namespace", "task", "result", "label", "value")} == {
        "namespace": "allianceauth.eveonline", "task": "update_character", "result": "Success",
        "label": "update_character", "value": 7,
    }
    assert "session_id" in event.params and "engagement_time_msec" in event.params


def test_failed_task_sends_the_exception_class_name_only(spans: SpanFactory) -> None:
    class TokenExpiredError(Exception):
        pass

    span = spans.task(error=TokenExpiredError("token of CANARY-USER expired"))
    event = span_to_event(span)
    assert event is not None
    assert event.params["result"] == "TokenExpiredError"
    assert event.params["value"] == 1
    assert "CANARY" not in repr(event)


def test_task_result_attribute_wins(spans: SpanFactory) -> None:
    event = span_to_event(spans.task(**{"ga.task.result": "HTTPError"}))
    assert event is not None and event.params["result"] == "HTTPError"


@pytest.mark.parametrize("retry", [{"ga.task.result": "Retry"}, {"celery.state": "RETRY"}])
def test_retry_sends_nothing(spans: SpanFactory, retry: dict[str, str]) -> None:
    assert span_to_event(spans.task(**retry)) is None


def test_task_name_from_span_name_and_namespace_rules(spans: SpanFactory) -> None:
    span = spans.make("run/myapp.tasks.cleanup", SpanKind.CONSUMER, {})
    event = span_to_event(span)
    assert event is not None
    assert (event.params["namespace"], event.params["task"]) == ("myapp", "cleanup")
    span = spans.make("run/x", SpanKind.CONSUMER,
                      {"celery.action": "run", "celery.task_name": "pkg.jobs.sync"})
    event = span_to_event(span)
    assert event is not None and event.params["namespace"] == "pkg.jobs"


def test_publish_span_is_not_an_event(spans: SpanFactory) -> None:
    span = spans.make("apply_async/x.tasks.y", SpanKind.PRODUCER,
                      {"celery.action": "apply_async", "celery.task_name": "x.tasks.y"})
    assert span_to_event(span) is None


def test_custom_event(spans: SpanFactory) -> None:
    span = spans.make("fleet joined", SpanKind.INTERNAL, {
        "ga.event.name": "fleet_join", "ga.event.stream": "daily_stats",
        "ga.event.param.fleet_type": "mining", "ga.event.param.pilots": 12,
    })
    event = span_to_event(span)
    assert event is not None
    assert event.name == "fleet_join" and event.stream == "daily_stats"
    assert event.params["fleet_type"] == "mining" and event.params["pilots"] == 12


def test_internal_span_is_nothing(spans: SpanFactory) -> None:
    assert span_to_event(spans.make("db", SpanKind.INTERNAL, {"db.system": "mysql"})) is None


def test_metrics_to_stats_events() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    meter = provider.get_meter("tests.stats")

    def gauge(name: str, points: list[tuple[int, dict[str, str]]]) -> None:
        def callback(options: CallbackOptions) -> list[Observation]:
            return [Observation(value, attrs) for value, attrs in points]

        meter.create_observable_gauge(name, callbacks=[callback])

    gauge(attr.METRIC_INSTALL_EXISTENCE, [(1, {attr.ATTR_INSTALL_KIND: "docker"})])
    gauge(attr.METRIC_USERS, [(42, {})])
    gauge(attr.METRIC_ESI_TOKENS, [(311, {})])
    gauge(attr.METRIC_APPS, [(2, {})])
    gauge(attr.METRIC_APP_INSTALLED, [(1, {attr.ATTR_APP_LABEL: "fleetactivitytracking"}),
                                      (1, {attr.ATTR_APP_LABEL: "srp"})])
    gauge(attr.METRIC_VERSION, [(1, {attr.ATTR_VERSION: "4.6.0"})])
    gauge("unrelated.metric", [(5, {})])
    data = reader.get_metrics_data()
    assert data is not None
    events = metrics_to_events(data)
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
