"""Google's GA4 limits: sanitize_event makes events fit or drops and counts; validate_payload judges."""

from __future__ import annotations

import json
import time
from typing import Any

from ga_test_support import SpanFactory, token
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics import _limits as limits
from opentelemetry.exporter.google_analytics._drops import DropCounter
from opentelemetry.exporter.google_analytics._events import GAEvent
from opentelemetry.exporter.google_analytics._limits import sanitize_event
from opentelemetry.exporter.google_analytics._mapping import DefaultMapping
from opentelemetry.exporter.google_analytics._pipeline import _Pipeline
from opentelemetry.exporter.google_analytics.testing import GACollector, validate_payload
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import SpanKind

NOW = time.time_ns() // 1000


def _event(name: str = "celery_event", params: dict[str, Any] | None = None,
           timestamp: int = NOW) -> GAEvent:
    return GAEvent(name, params if params is not None else {"task": "x"}, timestamp, "celery_events")


def _body(*events: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"client_id": "c", "events": list(events), **extra}


def test_values_truncated_names_dropped_and_counted() -> None:
    drops = DropCounter()
    original: dict[str, Any] = {"long": "x" * 150, "_private": 1, "ga_thing": 2, "bad name": 3, "ok": True,
                "nan": float("nan"), "listy": [1, 2]}
    event = _event(params=original)
    clean = sanitize_event(event, drops, NOW)
    assert clean is not None
    assert clean.params == {"long": "x" * 100, "ok": 1}
    assert event.params is original and len(original["long"]) == 150  # the input is untouched
    assert drops.snapshot() == {"param name invalid or reserved": 3,
                                "param value not a string or finite number": 2}
    assert validate_payload(_body(clean.to_json()), NOW) == []


def test_too_many_params_keeps_the_realtime_ones() -> None:
    drops = DropCounter()
    params: dict[str, Any] = {f"p{i}": i for i in range(30)}
    params["session_id"] = "123"
    params["engagement_time_msec"] = 1
    clean = sanitize_event(_event(params=params), drops, NOW)
    assert clean is not None
    assert len(clean.params) == limits.MAX_PARAMS_PER_EVENT
    assert {"session_id", "engagement_time_msec"} <= set(clean.params)
    assert drops.get("params over 25 per event") == 7


def test_events_dropped_for_name_and_age() -> None:
    drops = DropCounter()
    assert sanitize_event(_event("session_start"), drops, NOW) is None
    assert sanitize_event(_event("firebase_x"), drops, NOW) is None
    assert sanitize_event(_event("1abc"), drops, NOW) is None
    assert sanitize_event(_event("a" * 41), drops, NOW) is None
    assert sanitize_event(_event(timestamp=NOW - 73 * 3600 * 1_000_000), drops, NOW) is None
    assert sanitize_event(_event(timestamp=NOW - 71 * 3600 * 1_000_000), drops, NOW) is not None
    assert drops.snapshot() == {"event name reserved": 2, "event name invalid": 2,
                                "event older than 72 hours": 1}


def test_validate_payload_reports_like_google() -> None:
    body = {
        "client_id": "",
        "user_properties": {"user_id": {"value": "x"}, "a" * 25: {"value": "y"},
                            "ok": {"value": "z" * 37}},
        "consent": {"ad_user_data": "MAYBE"},
        "events": [
            {"name": "_badEventName", "params": {}},
            {"name": "user_engagement", "params": {"google_x": 1, "v": "v" * 101, "l": [1]}},
        ] + [{"name": "fine", "params": {}}] * 24,
    }
    messages = validate_payload(body, NOW)
    found = {(m["fieldPath"], m["validationCode"]) for m in messages}
    assert found == {
        ("client_id", "VALUE_REQUIRED"),
        ("user_properties.user_id", "NAME_RESERVED"),
        ("user_properties." + "a" * 25, "NAME_INVALID"),
        ("user_properties.ok.value", "VALUE_INVALID"),
        ("consent.ad_user_data", "VALUE_INVALID"),
        ("events", "EXCEEDED_MAX_ENTITIES"),
        ("events[0]", "NAME_RESERVED"),
        ("events[1]", "NAME_RESERVED"),
        ("events[1].params.google_x", "NAME_RESERVED"),
        ("events[1].params.v", "VALUE_INVALID"),
        ("events[1].params.l", "VALUE_INVALID"),
    }
    assert all(set(m) == {"fieldPath", "description", "validationCode"} for m in messages)


def test_validate_payload_body_size_and_required_events() -> None:
    assert validate_payload(_body(), NOW) == [
        {"fieldPath": "events", "description": "At least one event is required.",
         "validationCode": "VALUE_REQUIRED"}]
    big = _body(*[{"name": "e", "params": {f"p{j}": "€" * 100 for j in range(25)}}] * 25)
    assert len(json.dumps(big, ensure_ascii=False).encode()) > limits.MAX_BODY_BYTES
    assert any("smaller than" in m["description"] for m in validate_payload(big, NOW))


def test_batches_stay_under_the_body_limit() -> None:
    pipeline = _Pipeline(dict(tokens=[], measurement_id=None, api_secret=None, page_views=None,
                              celery_events=None, daily_stats=None, ignore_paths=None,
                              endpoint="http://127.0.0.1:9/mp/collect", timeout=1.0, validate=False,
                              client_id="c", user_properties={"aa_version": "4.6.0"}, session=None))
    # 3-byte characters: ~7.8 kB per event, so the size limit cuts batches before 25 events.
    heavy = [_event("e", {f"p{j}": f"{i:03d}" + "€" * 97 for j in range(25)}) for i in range(60)]
    bodies = pipeline.bodies_for(heavy)
    assert len(bodies) > 3
    assert sum(len(json.loads(b)["events"]) for b in bodies) == 60
    for body in bodies:
        assert len(body) < limits.MAX_BODY_BYTES
        assert validate_payload(json.loads(body), NOW) == []
    pipeline.shutdown()


# --- property: any attribute values give a valid hit or a counted drop --------------------------

_scalar = st.one_of(
    st.text(max_size=300), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
)
_value = st.one_of(_scalar, st.lists(st.text(max_size=20), max_size=3))
_name = st.one_of(st.text(max_size=50), st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,45}", fullmatch=True))


@st.composite
def _span_attributes(draw: st.DrawFn) -> tuple[SpanKind, dict[str, Any]]:
    kind = draw(st.sampled_from([SpanKind.SERVER, SpanKind.CONSUMER, SpanKind.INTERNAL]))
    attrs: dict[str, Any] = {}
    if kind is SpanKind.SERVER:
        attrs.update({
            draw(st.sampled_from(["http.method", "http.request.method"])):
                draw(st.sampled_from(["GET", "GET", "GET", "POST"])),
            draw(st.sampled_from(["http.status_code", "http.response.status_code"])):
                draw(st.sampled_from([200, 200, 204, 302, 404])),
            "http.route": draw(st.one_of(
                st.text(max_size=150),
                st.from_regex(r"\^[a-z/()?P<>0-9+\[\]-]{0,60}\$", fullmatch=True))),
            "ga.page.content_type": draw(st.sampled_from(["text/html", "text/html", "application/json"])),
            "ga.page.title": draw(_value),
            "ga.page.language": draw(_value),
        })
    elif kind is SpanKind.CONSUMER:
        attrs.update({"celery.action": "run", "celery.task_name": draw(st.text(max_size=120)),
                      "ga.task.result": draw(_value), "ga.task.value": draw(_value)})
    else:
        attrs["ga.event.name"] = draw(_name)
        attrs["ga.event.stream"] = draw(st.sampled_from(["celery_events", "daily_stats", "nonsense"]))
        for _ in range(draw(st.integers(0, 30))):
            attrs["ga.event.param." + draw(_name)] = draw(_value)
    return kind, attrs


_factory = SpanFactory()
span_to_event = DefaultMapping().span_to_event
_PIPELINE = _Pipeline(dict(tokens=[], measurement_id=None, api_secret=None, page_views=None,
                           celery_events=None, daily_stats=None, ignore_paths=None,
                           endpoint="http://127.0.0.1:9/mp/collect", timeout=1.0, validate=False,
                           client_id="c", user_properties={"aa_version": "4.6.0"}, session=None))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_span_attributes())
def test_any_attributes_give_a_valid_hit_or_a_counted_drop(case: tuple[SpanKind, dict[str, Any]]) -> None:
    kind, attrs = case
    span = _factory.make("span", kind, attrs)
    event = span_to_event(span)
    if event is None:
        return
    drops = DropCounter()
    clean = sanitize_event(event, drops)
    if clean is None:
        assert drops.total() >= 1
        return
    removed = set(event.params) - set(clean.params)
    assert len(removed) <= drops.total()
    (body,) = _PIPELINE.bodies_for([clean])  # the exact bytes the exporter would post
    assert validate_payload(json.loads(body)) == []


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(_span_attributes())
def test_any_attributes_end_to_end_reach_ga_valid_or_are_counted(
    ga: GACollector, case: tuple[SpanKind, dict[str, Any]]
) -> None:
    kind, attrs = case
    exporter = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint)
    try:
        span = _factory.make("span", kind, attrs)
        before = len(ga.events())
        assert exporter.export([span]) is SpanExportResult.SUCCESS
        received = len(ga.events()) - before
        assert exporter._pipeline is not None
        dropped = exporter._pipeline.drops.snapshot()
        if span_to_event(span) is None:
            assert received == 0
        elif received == 0:
            assert sum(dropped.values()) >= 1
        assert ga.invalid == []
    finally:
        exporter.shutdown()


def test_validate_payload_reports_a_non_string_event_name_instead_of_raising() -> None:
    for name, code in ((["a"], "NAME_INVALID"), ({"a": 1}, "NAME_INVALID"), (7, "NAME_INVALID"),
                       (None, "VALUE_REQUIRED")):
        messages = validate_payload({"client_id": "x", "events": [{"name": name, "params": {}}]})
        assert [m["validationCode"] for m in messages] == [code], name
