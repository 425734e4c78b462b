"""The record of what left (otel_aa._ledger) and the exporters' delivery observer hook, with a real
Redis cache and a real loopback GA."""

from __future__ import annotations

import json
import sys
import threading
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics._events import GAEvent
from opentelemetry.exporter.google_analytics._log import _reset as reset_log_windows
from opentelemetry.exporter.google_analytics._tokens import Token
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind

from otel_aa._ga_mapping import AAMapping
from otel_aa._ledger import HOURS, KEEP_HITS, MAX_NAMES, CacheLedger

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "exporters" / "google-analytics" / "tests"))
from ga_test_support import SpanFactory

SECRET = "ledger-secret-q7zx-0042"
TOKEN = {"name": "main", "measurement_id": "G-LEDGER01", "api_secret": SECRET}


@pytest.fixture(params=["django", "django-redis"])
def redis_cache(request: pytest.FixtureRequest, redis_server: Any) -> Any:
    """The tests' Redis behind Django's own cache (the generic API) and behind django-redis
    (Alliance Auth's cache: one pipelined round trip per body), each with a prefix of its own."""
    prefix = f"{redis_server.prefix}ledger-{uuid.uuid4().hex[:6]}"
    if request.param == "django":
        from django.core.cache.backends.redis import RedisCache
    else:
        from django_redis.cache import RedisCache  # type: ignore[no-redef]
    return RedisCache(redis_server.url, {"KEY_PREFIX": prefix})


def _event(name: str = "page_view", stream: str = "page_views") -> GAEvent:
    return GAEvent(name=name, params={"value": 1}, timestamp_micros=1, stream=stream)  # type: ignore[arg-type]


def _only(snapshot: dict[str, Any]) -> dict[str, Any]:
    (record,) = snapshot["tokens"].values()
    return record


def test_the_last_hits_are_the_bodies_exactly_as_sent(ga: GACollector, spans: SpanFactory,
                                                      redis_cache: Any) -> None:
    ledger = CacheLedger(cache=redis_cache)
    exporter = GoogleAnalyticsSpanExporter(tokens=[TOKEN], endpoint=ga.endpoint, validate=False,
                                           delivery_observer=ledger, mapping=AAMapping())
    exporter.export([spans.page(), spans.task()])
    exporter.export([spans.page()])
    record = _only(ledger.snapshot())
    assert record["measurement_id"] == "G-LEDGER01" and record["api_secret"] == "le…(23 chars)"
    sent = [hit.raw.decode() for hit in ga.hits]
    assert [hit["body"] for hit in record["hits"]] == sent[::-1]  # newest first
    assert all(hit["outcome"] == "sent" and hit["reason"] is None for hit in record["hits"])
    assert record["counts"]["page_view"]["total"] == 2 and record["counts"]["celery_event"]["total"] == 1
    assert len(record["counts"]["page_view"]["hourly"]) == HOURS
    assert record["last_success"] and record["last_failure"] is None and record["drops"] == {}
    assert SECRET not in json.dumps(ledger.snapshot())


def test_a_failed_send_records_why_and_counts_the_drop(ga: GACollector, spans: SpanFactory,
                                                       redis_cache: Any) -> None:
    ledger = CacheLedger(cache=redis_cache)
    exporter = GoogleAnalyticsSpanExporter(tokens=[TOKEN], endpoint=ga.endpoint, validate=False,
                                           delivery_observer=ledger, mapping=AAMapping())
    ga.fail_next(1, status=400)
    exporter.export([spans.page(), spans.page()])
    exporter.export([spans.page()])
    record = _only(ledger.snapshot())
    assert record["last_failure"] and record["last_reason"] == "HTTP 400 (not retried)"
    assert record["drops"] == {"HTTP 400 (not retried)": 2}
    assert [hit["outcome"] for hit in record["hits"]] == ["sent", "failed"]
    assert record["counts"]["page_view"]["total"] == 1  # only what GA took


def test_drops_before_any_token_are_counted_by_reason(ga: GACollector, redis_cache: Any) -> None:
    ledger = CacheLedger(cache=redis_cache)
    exporter = GoogleAnalyticsSpanExporter(tokens=[TOKEN], endpoint=ga.endpoint, validate=False,
                                           delivery_observer=ledger, mapping=AAMapping())
    pipeline = exporter._pipeline
    assert pipeline is not None
    pipeline.drops.add("event could not be serialized (TypeError)", 3, log=False)
    assert ledger.snapshot()["drops"] == {"event could not be serialized (TypeError)": 3}


def test_the_record_is_bounded(redis_cache: Any) -> None:
    ledger = CacheLedger(cache=redis_cache)
    token = Token("main", "G-LEDGER01", SECRET)
    for i in range(KEEP_HITS * 3):
        body = json.dumps({"events": [{"name": f"event_{i % (MAX_NAMES + 10)}"}]}).encode()
        ledger.on_delivery(token, body, "sent", None)
    for i in range(40):
        ledger.on_delivery(token, b'{"events":[{"name":"x"}]}', "failed", f"reason {i}")
    record = _only(ledger.snapshot())
    assert len(record["hits"]) == KEEP_HITS
    # 40 names cycle: the first 30 are kept, the 10 after them count as "(other)".
    assert len(record["counts"]) == MAX_NAMES + 1 and record["counts"]["(other)"]["total"] == 10
    assert sum(c["total"] for c in record["counts"].values()) == KEEP_HITS * 3
    assert len(record["drops"]) == 20 + 1 and record["drops"]["(other)"] == 20
    huge = json.dumps({"events": [{"name": "big", "params": {"p": "x" * 100_000}}]}).encode()
    ledger.on_delivery(token, huge, "sent", None)
    assert "(cut: " in _only(ledger.snapshot())["hits"][0]["body"]


def test_hourly_buckets_keep_the_last_24_hours(redis_cache: Any) -> None:
    now = [1_800_000_000.0]
    ledger = CacheLedger(cache=redis_cache, clock=lambda: now[0])
    token = Token("main", "G-LEDGER01", SECRET)
    body = b'{"events":[{"name":"page_view"},{"name":"page_view"}]}'
    ledger.on_delivery(token, body, "sent", None)
    now[0] += 5 * 3600
    ledger.on_delivery(token, body, "sent", None)
    hourly = _only(ledger.snapshot())["counts"]["page_view"]["hourly"]
    assert hourly[-1] == 2 and hourly[-6] == 2 and sum(hourly) == 4
    now[0] += HOURS * 3600
    assert "page_view" not in _only(ledger.snapshot())["counts"]


def test_a_broken_cache_never_breaks_an_export(ga: GACollector, spans: SpanFactory) -> None:
    from django.core.cache.backends.redis import RedisCache

    from .conftest import free_port

    reset_log_windows()
    dead = RedisCache(f"redis://127.0.0.1:{free_port()}/0", {"OPTIONS": {"socket_connect_timeout": 0.5}})
    exporter = GoogleAnalyticsSpanExporter(tokens=[TOKEN], endpoint=ga.endpoint, validate=False,
                                           delivery_observer=CacheLedger(cache=dead), mapping=AAMapping())
    from opentelemetry.sdk.trace.export import SpanExportResult

    assert exporter.export([spans.page()]) is SpanExportResult.SUCCESS
    assert len(ga.events("page_view")) == 1


def test_an_observer_that_raises_costs_nothing(ga: GACollector, spans: SpanFactory) -> None:
    class Broken:
        def on_delivery(self, *args: Any) -> None:
            raise RuntimeError("observer bug")

        def on_drop(self, *args: Any) -> None:
            raise RuntimeError("observer bug")

    reset_log_windows()
    exporter = GoogleAnalyticsSpanExporter(tokens=[TOKEN], endpoint=ga.endpoint, validate=False,
                                           delivery_observer=Broken(), mapping=AAMapping())
    from opentelemetry.sdk.trace.export import SpanExportResult

    assert exporter.export([spans.page()]) is SpanExportResult.SUCCESS
    assert exporter._pipeline is not None
    exporter._pipeline.drops.add("x", log=False)  # on_drop raising must not escape either
    assert len(ga.hits) == 1


def test_the_observer_runs_on_the_export_thread_only(ga: GACollector, redis_cache: Any) -> None:
    threads: list[str] = []
    ledger = CacheLedger(cache=redis_cache)

    class Watching:
        def on_delivery(self, *args: Any) -> None:
            ledger.on_delivery(*args)
            threads.append(threading.current_thread().name)

    exporter = GoogleAnalyticsSpanExporter(tokens=[TOKEN], endpoint=ga.endpoint, validate=False,
                                           delivery_observer=Watching(), mapping=AAMapping())
    provider = TracerProvider()
    # Exported by the processor's own thread on its schedule (force_flush would export on ours).
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=50))
    tracer = provider.get_tracer("test")
    for _ in range(3):
        with tracer.start_as_current_span("GET /", kind=SpanKind.SERVER,
                                          attributes={"http.request.method": "GET", "http.route": "/",
                                                      "http.response.status_code": 200,
                                                      "ga.page.content_type": "text/html"}):
            pass
    assert ga.wait_for(lambda c: len(c.events("page_view")) == 3 and len(threads) == len(c.hits))
    provider.shutdown()
    assert threads and threading.current_thread().name not in threads
    assert _only(ledger.snapshot())["counts"]["page_view"]["total"] == 3


def test_a_destination_in_settings_and_in_the_source_is_posted_once_sending_less(
        ga: GACollector, spans: SpanFactory) -> None:
    from_admin = Token("aa:main", "G-LEDGER01", SECRET, page_views=False, celery_events=True,
                       daily_stats=True)
    exporter = GoogleAnalyticsSpanExporter(tokens=[TOKEN], endpoint=ga.endpoint, validate=False,
                                           token_source=lambda: [from_admin], mapping=AAMapping())
    (token,) = exporter.tokens
    assert token.name == "main" and not token.page_views and token.celery_events
    exporter.export([spans.page(), spans.task()])
    assert ga.events("page_view") == [] and len(ga.events("celery_event")) == 1 and len(ga.hits) == 1


def test_nothing_is_recorded_where_the_cache_is_the_hosts_database(ga: GACollector,
                                                                  spans: SpanFactory) -> None:
    # DatabaseCache writes go to the host's database: from otel-aa's threads only the daily-stats
    # lease may write there, so the record stays empty (and the export itself is unaffected).
    from django.test import override_settings

    caches = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache",
                          "LOCATION": "otel_aa_no_such_table"}}
    with override_settings(CACHES=caches):
        ledger = CacheLedger()
        assert not ledger._recording()
        exporter = GoogleAnalyticsSpanExporter(tokens=[TOKEN], endpoint=ga.endpoint, validate=False,
                                               delivery_observer=ledger, mapping=AAMapping())
        exporter.export([spans.page()])
        exporter.shutdown()
    assert len(ga.events("page_view")) == 1
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        assert CacheLedger()._recording()


def test_a_body_costs_one_round_trip_with_django_redis(redis_server: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """What the export thread waits for per body: one pipeline, once the hour's names are known."""
    import redis.connection
    from django_redis.cache import RedisCache

    cache = RedisCache(redis_server.url, {"KEY_PREFIX": f"{redis_server.prefix}ledger-rt"})
    ledger = CacheLedger(cache=cache, clock=lambda: 1_800_000_000.0)
    token = Token("main", "G-LEDGER01", SECRET)
    body = b'{"events":[{"name":"page_view"},{"name":"celery_event"},{"name":"page_view"}]}'
    ledger.on_delivery(token, body, "sent", None)  # first body: registers, lists the names
    trips = []
    real = redis.connection.Connection.send_packed_command

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(1)  # one write per command or pipeline sent: one round trip
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counting)
    for _ in range(3):
        ledger.on_delivery(token, body, "sent", None)
    ledger.on_delivery(token, body, "failed", "HTTP 400 (not retried)")  # a known reason next
    ledger.on_delivery(token, body, "failed", "HTTP 400 (not retried)")
    # One per body, and the first failure's new reason is listed once (a read and a write).
    assert len(trips) == 3 + (2 + 1) + 1
    monkeypatch.undo()
    record = _only(ledger.snapshot())
    assert record["counts"]["page_view"]["total"] == 8 and record["counts"]["celery_event"]["total"] == 4
    assert [hit["outcome"] for hit in record["hits"]] == ["failed", "failed", "sent", "sent", "sent", "sent"]
    assert record["drops"] == {"HTTP 400 (not retried)": 6}


def test_a_body_sent_to_several_tokens_is_read_once_and_recorded_for_each(
        ga: GACollector, spans: SpanFactory, redis_cache: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_aa import _ledger

    decoded: list[str] = []

    def loads(text: str) -> Any:
        decoded.append(text)
        return json.loads(text)

    monkeypatch.setattr(_ledger, "json", SimpleNamespace(loads=loads))  # the ledger's decodes only
    ledger = CacheLedger(cache=redis_cache)
    tokens = [{**TOKEN, "name": f"t{i}", "measurement_id": f"G-LEDGER0{i}", "api_secret": f"{SECRET}{i}"}
              for i in range(3)]
    exporter = GoogleAnalyticsSpanExporter(tokens=tokens, endpoint=ga.endpoint, validate=False,
                                           delivery_observer=ledger, mapping=AAMapping())
    exporter.export([spans.page() for _ in range(30)])  # two bodies (25 + 5), each to three tokens
    assert len(ga.hits) == 6
    # Each body went to the three tokens one after another, so the ledger decoded it once.
    assert [h.query["measurement_id"] for h in ga.hits] == ["G-LEDGER00", "G-LEDGER01", "G-LEDGER02"] * 2
    assert len(decoded) == 2
    records = ledger.snapshot()["tokens"].values()
    assert sorted(r["counts"]["page_view"]["total"] for r in records) == [30, 30, 30]
