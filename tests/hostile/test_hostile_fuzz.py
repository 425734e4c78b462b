"""Hypothesis drives arbitrary span attributes through the whole GA path, as the site runs it.

Raw span (any attributes, any strings: surrogates, control characters, 10k-character values,
huge ints, NaN) → AnalyticsSampler → AllowlistSpanProcessor → BatchSpanProcessor → GA span
exporter (``AAMapping.span_to_event`` → ``limits.sanitize_event`` → batch) → a real HTTP server on
loopback that checks every hit with ``testing.validate_payload``. Every span GA can use must end up
as a valid hit or as a counted drop, and one bad span must not take the rest of its batch down.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics._drops import DropCounter
from opentelemetry.exporter.google_analytics._limits import sanitize_event
from opentelemetry.exporter.google_analytics.testing import GACollector, validate_payload
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_aa import _configurator as configurator
from otel_aa._allowlist_processor import AllowlistSpanProcessor
from otel_aa._ga_mapping import AAMapping

TOKEN = {"name": "fuzz", "measurement_id": "G-FUZZ0001", "api_secret": "fuzzsecret-93be1c"}

# Every code point, lone surrogates and C0/C1 controls included (Hypothesis leaves surrogates out
# unless asked): a span attribute is any Python str.
_any_char = st.characters(codec=None, exclude_categories=())
_text = st.one_of(
    st.text(_any_char, max_size=120),
    st.text(
        st.sampled_from("\x00\x01\x1f\x7f\x85\u2028\ud800\udfff\ufeff\u202e é漢🙂<>&\"'\\/%"), max_size=60
    ),
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "é", "🙂", "\ud83d"]), st.integers(101, 10_000)),
)
_scalar = st.one_of(
    _text,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)
_value = st.one_of(_scalar, st.lists(st.one_of(st.text(_any_char, max_size=20), st.integers()), max_size=3))
_param_name = st.one_of(
    st.text(_any_char, max_size=50),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,45}", fullmatch=True),
    st.sampled_from(["engagement_time_msec", "session_id", "page_location", "firebase_x", "ga_x", "_x"]),
)
# Attributes instrumentations set that must never matter (the allowlist drops them).
_noise_keys = st.sampled_from(
    [
        "http.url",
        "http.target",
        "http.user_agent",
        "net.peer.ip",
        "client.address",
        "user.id",
        "enduser.id",
        "http.request.header.cookie",
        "exception.message",
        "celery.args",
        "url.query",
    ]
)


@st.composite
def _span(draw: st.DrawFn) -> tuple[SpanKind, dict[str, Any]]:
    kind = draw(st.sampled_from([SpanKind.SERVER, SpanKind.CONSUMER, SpanKind.INTERNAL, SpanKind.CLIENT]))
    attrs: dict[str, Any] = {}
    if kind is SpanKind.SERVER:
        attrs[draw(st.sampled_from(["http.method", "http.request.method"]))] = draw(
            st.one_of(st.sampled_from(["GET", "GET", "get", "POST", "_OTHER"]), _value)
        )
        attrs[draw(st.sampled_from(["http.status_code", "http.response.status_code"]))] = draw(
            st.one_of(st.sampled_from([200, 200, 299, 301, 404, 500]), _value)
        )
        attrs["http.route"] = draw(
            st.one_of(
                _text,
                st.from_regex(r"\^[a-z/()?P<>0-9+\[\]\\.*-]{0,80}\$?", fullmatch=True),
                st.sampled_from(["", "character/<int:character_id>/", "^(?P<a>(?P<b>x)+)$", "(((", "\\"]),
            )
        )
        attrs["ga.page.content_type"] = draw(st.one_of(st.sampled_from(["text/html", "text/html"]), _value))
        attrs["ga.page.title"] = draw(_value)
        attrs["ga.page.language"] = draw(_value)
    elif kind is SpanKind.CONSUMER:
        attrs["celery.action"] = draw(st.one_of(st.just("run"), _value))
        attrs["celery.task_name"] = draw(
            st.one_of(_text, st.sampled_from(["a.tasks.b", ".", "..", "tasks", ""]))
        )
        attrs["ga.task.result"] = draw(_value)
        attrs["ga.task.value"] = draw(_value)
        attrs["celery.state"] = draw(st.one_of(st.sampled_from(["SUCCESS", "FAILURE", "RETRY"]), _value))
    if draw(st.booleans()) or kind in {SpanKind.INTERNAL, SpanKind.CLIENT}:
        attrs["ga.event.name"] = draw(st.one_of(_param_name, _value))
        attrs["ga.event.stream"] = draw(
            st.one_of(st.sampled_from(["celery_events", "daily_stats", "page_views"]), _value)
        )
        for _ in range(draw(st.integers(0, 40))):
            attrs["ga.event.param." + draw(_param_name)] = draw(_value)
    for _ in range(draw(st.integers(0, 3))):
        attrs[draw(_noise_keys)] = draw(_value)
    return kind, attrs


class _Pipeline:
    """One provider as the configurator builds it, plus an in-memory copy of what GA's exporter sees."""

    def __init__(self, endpoint: str) -> None:
        self.exporter = GoogleAnalyticsSpanExporter(
            mapping=AAMapping(),
            tokens=[TOKEN], endpoint=endpoint, timeout=5, validate=False
        )
        self.seen = InMemorySpanExporter()
        self.provider = TracerProvider(sampler=configurator._sampler())
        self.provider.add_span_processor(configurator.export_span_processor(self.exporter))
        self.provider.add_span_processor(AllowlistSpanProcessor(SimpleSpanProcessor(self.seen)))
        self.tracer = self.provider.get_tracer("tests.hostile.fuzz")

    def close(self) -> None:
        self.provider.shutdown()


@pytest.fixture(scope="module")
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


@pytest.fixture(scope="module")
def pipeline(ga: GACollector) -> Iterator[_Pipeline]:
    made = _Pipeline(ga.endpoint)
    try:
        yield made
    finally:
        made.close()


def _span_name(kind: SpanKind, attrs: dict[str, Any]) -> str:
    route = attrs.get("http.route")
    return f"GET {route}" if isinstance(route, str) else str(kind.name)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
@given(st.lists(_span(), min_size=1, max_size=30))
def test_every_usable_span_arrives_valid_or_is_counted(
    ga: GACollector, pipeline: _Pipeline, batch: list[tuple[SpanKind, dict[str, Any]]]
) -> None:
    ga.clear()
    pipeline.seen.clear()
    drops = pipeline.exporter._pipeline.drops  # type: ignore[union-attr]
    dropped_before = drops.total()
    for kind, attrs in batch:
        with pipeline.tracer.start_as_current_span(_span_name(kind, attrs), kind=kind, attributes=attrs):
            pass
    assert pipeline.provider.force_flush(30_000)

    # What GA's exporter was given (after the allowlist), mapped and fitted as it does it.
    expected = 0
    unusable = 0
    for reduced in pipeline.seen.get_finished_spans():
        event = pipeline.exporter.mapping.span_to_event(reduced)
        if event is None:
            continue
        if sanitize_event(event, DropCounter()) is None:
            unusable += 1
        else:
            expected += 1
    received = ga.events(measurement_id=TOKEN["measurement_id"])
    assert ga.invalid == [], [h.validation for h in ga.invalid]
    assert len(received) == expected, "a span GA could use neither arrived nor was refused by the limits"
    if unusable:
        assert drops.total() - dropped_before >= unusable
    for hit in ga.hits:
        assert validate_payload(json.loads(hit.raw)) == []
        assert TOKEN["api_secret"] not in hit.raw.decode("utf-8", "replace")


@pytest.mark.parametrize("bad", ["\ud800", "a\udfffb", "\udcff" * 50])
def test_a_lone_surrogate_does_not_poison_its_batch(ga: GACollector, pipeline: _Pipeline, bad: str) -> None:
    """A title with a lone surrogate (e.g. bytes decoded with ``surrogateescape``) among good ones.

    ``json.dumps(..., ensure_ascii=False).encode()`` raises ``UnicodeEncodeError`` on it; that must
    cost at most that one event (counted), not the other events of the export.
    """
    ga.clear()
    good = {
        "http.request.method": "GET",
        "http.response.status_code": 200,
        "http.route": "ok/",
        "ga.page.content_type": "text/html",
    }
    for i in range(5):
        with pipeline.tracer.start_as_current_span(
            "GET ok/", kind=SpanKind.SERVER, attributes={**good, "ga.page.title": f"good {i}"}
        ):
            pass
    with pipeline.tracer.start_as_current_span(
        "GET ok/", kind=SpanKind.SERVER, attributes={**good, "ga.page.title": f"bad {bad}"}
    ):
        pass
    assert pipeline.provider.force_flush(30_000)
    titles = [e["params"].get("page_title") for e in ga.events("page_view")]
    assert sorted(t for t in titles if t and t.startswith("good")) == [f"good {i}" for i in range(5)]
    assert ga.invalid == []
