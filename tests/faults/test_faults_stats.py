"""The daily stats when their shared state fails mid-way: Redis going down while the lease is
taken, and the database going down during a collection. Nothing raises, nothing is sent twice,
and what can be sent is sent once things are back.

Real parts: Django's Redis cache on the test Redis, the real ``DjangoLease``, gauges, metric
reader and exporter, the loopback GA collector. "Down" is a closed loopback port for Redis and,
for the database, Django's own ``execute_wrapper`` failing each query as a lost connection does.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import override_settings
from opentelemetry.exporter.google_analytics import (
    GoogleAnalyticsMetricExporter,
    GoogleAnalyticsMetricReader,
    InProcessLease,
)
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.metrics import MeterProvider

from otel_aa._ga_mapping import AAMapping
from otel_aa._lease import DjangoLease
from otel_aa._stats import register_gauges

pytestmark = pytest.mark.timeout(120)

TOKEN = {"name": "stats", "measurement_id": "G-STATS001", "api_secret": "statssecret-2c9d1e"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cache(location: str, prefix: str) -> dict[str, Any]:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": location,
            "KEY_PREFIX": prefix,
        }
    }


@pytest.fixture
def caches(redis_server: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    prefix = f"{redis_server.prefix}faults-{uuid.uuid4().hex[:6]}"
    up = _cache(redis_server.url, prefix)
    down = _cache(f"redis://127.0.0.1:{_closed_port()}/13", prefix)
    yield up, down


@pytest.fixture
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


def _stats_labels(ga: GACollector) -> list[str]:
    return sorted(
        e["params"]["label"]
        for e in ga.events("celery_event", TOKEN["measurement_id"])
        if e["params"].get("task") == "send_install_stats"
    )


@pytest.mark.guard_expected
def test_redis_down_while_the_lease_is_held(caches: Any, guard_reraises: list[BaseException]) -> None:
    up, down = caches
    key = f"lease-{uuid.uuid4().hex[:8]}"
    holder = DjangoLease(interval=3600, key=key)
    other = DjangoLease(interval=3600, key=key)  # another process of the install
    with override_settings(CACHES=up):
        assert holder.due()
        assert holder.acquire()
        assert not other.due()
    with override_settings(CACHES=down):
        # Can't tell: no send (never a second one), nothing raised.
        assert holder.due() is False
        assert other.due() is False
        assert other.acquire() is False
        other.release()
    assert guard_reraises, "Redis being down was not reported"
    assert all("Connection" in type(e).__name__ for e in guard_reraises), guard_reraises
    with override_settings(CACHES=up):
        # Back: the lease is still held for its interval.
        assert not other.due()
        assert not other.acquire()
        holder.release()  # e.g. the send failed: given back, the next cycle retries
        assert other.due()
        assert other.acquire()
        other.release()


@pytest.mark.guard_expected
@pytest.mark.django_db
def test_stats_pipeline_with_redis_down_sends_nothing_then_once_when_back(
    caches: Any, ga: GACollector, guard_reraises: list[BaseException]
) -> None:
    up, down = caches
    lease = DjangoLease(interval=3600, key=f"lease-{uuid.uuid4().hex[:8]}")
    exporter = GoogleAnalyticsMetricExporter(
        mapping=AAMapping(),
        tokens=[TOKEN], endpoint=ga.endpoint, validate=False, client_id="faults-client", lease=lease
    )
    reader = GoogleAnalyticsMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    register_gauges(provider)
    try:
        with override_settings(CACHES=down):
            assert reader.collect_if_due() is False
        assert ga.requests == []
        with override_settings(CACHES=up):
            assert reader.collect_if_due() is True
            assert "existence" in _stats_labels(ga)
            sent = len(ga.requests)
            assert reader.collect_if_due() is False  # within the interval: once
            assert len(ga.requests) == sent
    finally:
        with override_settings(CACHES=up):
            provider.shutdown()  # its last collection is gated by the lease too
    assert ga.invalid == []
    assert guard_reraises


@pytest.mark.guard_expected
@pytest.mark.django_db
def test_database_down_during_a_collection(ga: GACollector, guard_reraises: list[BaseException]) -> None:
    from django.contrib.auth.models import User

    User.objects.create(username="stats-fault-user")
    lease = InProcessLease(interval=0.001)
    exporter = GoogleAnalyticsMetricExporter(
        mapping=AAMapping(),
        tokens=[TOKEN], endpoint=ga.endpoint, validate=False, client_id="faults-client", lease=lease
    )
    reader = GoogleAnalyticsMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    register_gauges(provider)
    queries: list[str] = []

    def database_down(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        raise OperationalError("server has gone away")

    try:
        with connection.execute_wrapper(database_down):
            assert reader.collect_if_due() is True  # collected; the counts that need the DB skipped
        assert queries, "the collection did not reach the database"
        labels = _stats_labels(ga)
        assert "users" not in labels
        assert "existence" in labels  # what doesn't need the database still goes out
        assert all(isinstance(e, OperationalError) for e in guard_reraises)

        ga.clear()
        assert lease.due()  # its 1 ms interval is long over
        assert reader.collect_if_due() is True  # the database is back: the counts are too
        users = [
            e["params"]["value"]
            for e in ga.events("celery_event", TOKEN["measurement_id"])
            if e["params"].get("label") == "users"
        ]
        assert users == [User.objects.count()]
    finally:
        provider.shutdown()
    assert ga.invalid == []
