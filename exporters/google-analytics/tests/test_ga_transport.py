"""How bodies are built and travel: one body for tokens that admit the same events, one JSON
encode per body, urllib3 without retries of its own, and the plain retry loop's classes of error."""

from __future__ import annotations

from typing import Any

from ga_test_support import MEASUREMENT_ID, OTHER_ID, OTHER_SECRET, SpanFactory, token
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics._batching import body_head, pack_bodies, pack_events, serialize
from opentelemetry.exporter.google_analytics._drops import DropCounter
from opentelemetry.exporter.google_analytics._events import GAEvent
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace.export import SpanExportResult

NOW = 1_800_000_000_000_000


class _Recorder:
    """A delivery observer that keeps what it was told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, bytes, str]] = []

    def on_delivery(self, token: Any, body: bytes, outcome: str, reason: str | None) -> None:
        self.seen.append((token.measurement_id, body, outcome))


def test_tokens_that_admit_the_same_events_share_one_body(ga: GACollector, fast_retries: None,
                                                          spans: SpanFactory) -> None:
    recorder = _Recorder()
    exp = GoogleAnalyticsSpanExporter(tokens=[token(), token(OTHER_ID, OTHER_SECRET),
                                              token("G-TEST0003", "third-CANARY-secret", page_views=False)],
                                      endpoint=ga.endpoint, client_id="install-1234",
                                      delivery_observer=recorder)
    custom = spans.make("job", attributes={"ga.event.name": "job_done", "ga.event.stream": "celery_events"})
    assert exp.export([spans.page(), custom, spans.page()]) is SpanExportResult.SUCCESS
    exp.shutdown()
    assert len(recorder.seen) == 3 and all(outcome == "sent" for *_, outcome in recorder.seen)
    by_token = {s[0]: s[1] for s in recorder.seen}
    assert by_token[MEASUREMENT_ID] is by_token[OTHER_ID]  # built once, sent to both
    assert by_token["G-TEST0003"] is not by_token[MEASUREMENT_ID]
    raw = {hit.query["measurement_id"]: hit.raw for hit in ga.hits}
    assert raw[MEASUREMENT_ID] == raw[OTHER_ID] == by_token[MEASUREMENT_ID]
    names = ["page_view", "job_done", "page_view"]
    assert [e["name"] for e in ga.events(measurement_id=MEASUREMENT_ID)] == names
    assert [e["name"] for e in ga.events(measurement_id="G-TEST0003")] == ["job_done"]
    # Only the headers GA needs: requests' defaults (Accept, gzip, Connection) are left out.
    headers = {k.lower(): v for k, v in ga.hits[0].headers.items()}
    assert set(headers) == {"host", "content-length", "content-type", "user-agent", "accept-encoding"}
    assert headers["content-type"] == "application/json" and headers["accept-encoding"] == "identity"
    assert headers["user-agent"] == "opentelemetry-exporter-google-analytics"


def _events(n: int, size: int = 20) -> list[GAEvent]:
    return [GAEvent("page_view", {"page_title": f"{i:03d}" + "€" * size, "n": i}, NOW, "page_views")
            for i in range(n)]


def test_one_encode_per_body_gives_the_bytes_of_packing_event_by_event() -> None:
    head = body_head("install-1234", {"version": {"value": "1.0"}})
    # Small events (one encode per body), then ~2.6 kB ones that cut bodies by size (event by event).
    for events in (_events(60), _events(60, size=850), [*_events(30), *_events(40, size=850)]):
        drops = DropCounter()
        packed = pack_events(head, events, drops)
        alone = list(pack_bodies(head, (serialize(e) for e in events), DropCounter()))
        assert packed == alone
        assert sum(count for _, count in packed) == len(events) and drops.total() == 0
    assert [count for _, count in pack_events(head, _events(60), DropCounter())] == [25, 25, 10]


def test_an_unencodable_event_meant_for_two_bodies_is_counted_once(ga: GACollector,
                                                                   fast_retries: None) -> None:
    other = token(OTHER_ID, OTHER_SECRET, ignore_paths=["^/x"])  # admits alike, but not the same
    exp = GoogleAnalyticsSpanExporter(tokens=[token(), other], endpoint=ga.endpoint,
                                      client_id="install-1234")
    pipeline = exp._pipeline
    assert pipeline is not None
    bad = GAEvent("page_view", {"page_title": "bad \ud800"}, NOW, "page_views")  # past sanitize_event
    good = _events(2)
    assert pipeline.deliver([good[0], bad, good[1]])
    exp.shutdown()
    assert len(ga.hits) == 2 and all(len(hit.events) == 2 for hit in ga.hits)
    assert pipeline.drops.snapshot() == {"event could not be serialized (UnicodeEncodeError)": 1}


def test_urllib3_makes_no_retries_of_its_own(ga: GACollector, fast_retries: None, spans: SpanFactory) -> None:
    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, client_id="install-1234")
    ga.reset_next(1)
    assert exp.export([spans.page()]) is SpanExportResult.SUCCESS
    pipeline = exp._pipeline
    assert pipeline is not None
    # Every request GA saw is one of our attempts: the reset one, then the retry that went through.
    assert [r.status for r in ga.requests] == [None, 204] and pipeline.transport.attempts == 2
    exp.shutdown()


def test_a_tls_failure_is_not_retried(ga: GACollector, fast_retries: None, spans: SpanFactory) -> None:
    # TLS to a server speaking plain HTTP fails in the handshake: retrying won't change that.
    endpoint = ga.endpoint.replace("http://", "https://")
    exp = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=endpoint, client_id="install-1234")
    assert exp.export([spans.page()]) is SpanExportResult.FAILURE
    pipeline = exp._pipeline
    assert pipeline is not None
    assert pipeline.transport.attempts == 1
    assert pipeline.transport.last_error == "TLS error (not retried)"
    assert pipeline.drops.get("events not delivered to GA") == 1
    exp.shutdown()
    assert ga.hits == []
