"""Fixtures for the hostile-input tests: the test project (``tests/_site``), GA on loopback, and
Django instrumented in-process with otel-aa's hooks and a GA pipeline of its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "_site.settings")
import django

django.setup()

from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter  # noqa: E402
from opentelemetry.exporter.google_analytics.testing import GACollector  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

from otel_aa import _configurator as configurator  # noqa: E402
from otel_aa import _django_hook as django_hook  # noqa: E402
from otel_aa._ga_mapping import AAMapping  # noqa: E402

TOKENS = [{"name": "hostile", "measurement_id": "G-HOSTILE01", "api_secret": "hostilesecret-5d1e0a"}]


@pytest.fixture
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


class Pipeline:
    def __init__(self, provider: TracerProvider, raw: InMemorySpanExporter) -> None:
        self.provider = provider
        self.raw = raw

    def flush(self) -> None:
        assert self.provider.force_flush(30_000)


@pytest.fixture
def pipeline(ga: GACollector) -> Iterator[Pipeline]:
    """Django instrumented as otel-aa does it (response hook, sampler, allowlist, GA exporter)."""
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    exporter = GoogleAnalyticsSpanExporter(
        mapping=AAMapping(),
        endpoint=ga.endpoint, tokens=TOKENS, client_id="hostile-client", validate=False, timeout=5
    )
    provider = TracerProvider(sampler=configurator._sampler())
    provider.add_span_processor(configurator.export_span_processor(exporter))
    raw = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(raw))
    instrumentor = DjangoInstrumentor()
    instrumentor.instrument(tracer_provider=provider, response_hook=django_hook.django_response_hook)
    try:
        yield Pipeline(provider, raw)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


def page_views(ga: GACollector) -> list[dict[str, Any]]:
    return ga.events("page_view", TOKENS[0]["measurement_id"])
