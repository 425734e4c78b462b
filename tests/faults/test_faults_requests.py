"""The site while GA misbehaves: Django requests through the instrumentation and otel-aa's GA
pipeline keep answering, never wait on GA, and their page views arrive once GA answers again.

"Never wait on GA" is shown without timing: the collector holds the exporter's HTTP request
open (``delay_next``) while the test serves more pages; if any of them waited on GA, the test
would hang until its timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace import TracerProvider

from faults._support import closed_endpoint, fast_exporter, transport
from otel_aa import _configurator as configurator
from otel_aa import _django_hook as django_hook

pytestmark = [pytest.mark.timeout(120), pytest.mark.django_db]

MAIN = "G-FAULT0000"


@pytest.fixture
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


class Site:
    def __init__(self, provider: TracerProvider, exporter: Any) -> None:
        self.provider = provider
        self.exporter = exporter
        self.client = Client()

    def page(self, n: int) -> None:
        response = self.client.get(f"/character/{n}/")
        assert response.status_code == 200


def _site(endpoint: str, **kwargs: Any) -> Iterator[Site]:
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    exporter = fast_exporter(endpoint, **kwargs)
    provider = TracerProvider(sampler=configurator._sampler())
    # A batch delay of an hour: exports happen when the test flushes, not on their own.
    provider.add_span_processor(configurator.export_span_processor(exporter, schedule_delay_millis=3_600_000))
    instrumentor = DjangoInstrumentor()
    instrumentor.instrument(tracer_provider=provider, response_hook=django_hook.django_response_hook)
    try:
        yield Site(provider, exporter)
    finally:
        instrumentor.uninstrument()
        exporter.shutdown()
        provider.shutdown()


@pytest.fixture
def site(ga: GACollector) -> Iterator[Site]:
    yield from _site(ga.endpoint, timeout=10, budget=30)


def _views(ga: GACollector) -> int:
    return len(ga.events("page_view", MAIN))


def test_pages_are_served_while_an_export_hangs_and_all_arrive_after(site: Site, ga: GACollector) -> None:
    ga.delay_next(1, seconds=60)  # GA holds the first request open (until past the timeout)
    site.page(1)
    flusher = threading.Thread(target=site.provider.force_flush, daemon=True)
    flusher.start()
    assert ga.wait_for(lambda c: len(c.requests) >= 1, timeout=20)  # the export now hangs on GA
    for n in range(2, 22):
        site.page(n)
    # Still hanging on GA (its timeout is 10 s): the 20 pages did not wait for it.
    assert flusher.is_alive()
    flusher.join(timeout=60)
    assert not flusher.is_alive()
    assert site.provider.force_flush(30_000)
    assert _views(ga) == 21  # the timed-out body was retried, not duplicated
    assert ga.invalid == []


def test_pages_are_served_while_ga_errors_and_arrive_when_it_recovers(site: Site, ga: GACollector) -> None:
    ga.fail_next(3, status=503)
    ga.reset_next(2)
    ga.fail_next(1, status=429, retry_after=0)
    for n in range(30):
        site.page(n)
    assert site.provider.force_flush(30_000)
    assert _views(ga) == 30
    assert ga.invalid == []


def test_pages_are_served_while_ga_is_not_listening() -> None:
    for site in _site(closed_endpoint(), budget=0.3):
        for n in range(30):
            site.page(n)
        assert site.provider.force_flush(30_000)
        assert transport(site.exporter).attempts > 1
