"""Fixtures of the privacy tests: Django instrumented as otel-aa does it, GA on loopback, in both
HTTP semantic-convention modes and both page-title modes."""

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

from otel_aa import _config as config  # noqa: E402
from otel_aa import _configurator as configurator  # noqa: E402
from otel_aa import _django_hook as django_hook  # noqa: E402
from otel_aa import _titles as titles  # noqa: E402
from otel_aa._ga_mapping import AAMapping  # noqa: E402
from otel_aa._host_settings import django_setting  # noqa: E402

SECRET = "privacysecret-3c9d1f"
TOKENS = [{"name": "privacy", "measurement_id": "G-PRIVACY01", "api_secret": SECRET}]


@pytest.fixture(scope="module")
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


class Pipeline:
    def __init__(self, provider: TracerProvider, raw: InMemorySpanExporter, ga: GACollector) -> None:
        self.provider, self.raw, self.ga = provider, raw, ga

    def flush(self) -> None:
        assert self.provider.force_flush(30_000)

    def page_views(self) -> list[dict[str, Any]]:
        self.flush()
        return [e["params"] for e in self.ga.events("page_view", TOKENS[0]["measurement_id"])]


def _instrumented(ga: GACollector, semconv: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pipeline]:
    from opentelemetry.instrumentation import _semconv
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.django.middleware import otel_middleware

    stability = _semconv._OpenTelemetrySemanticConventionStability
    before = os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN")
    # instrument() stores the mode on the middleware class and uninstrument() leaves it there:
    # put it back for the tests that follow (monkeypatch undoes this at teardown).
    middleware = otel_middleware._DjangoMiddleware
    monkeypatch.setattr(middleware, "_sem_conv_opt_in_mode",
                        getattr(middleware, "_sem_conv_opt_in_mode", None), raising=False)
    _set_semconv(stability, semconv)
    exporter = GoogleAnalyticsSpanExporter(endpoint=ga.endpoint, tokens=TOKENS, client_id="privacy-client",
                                           validate=False, timeout=5, mapping=AAMapping(),
                                           settings=django_setting)
    provider = TracerProvider(sampler=configurator._sampler())
    provider.add_span_processor(configurator.export_span_processor(exporter))
    raw = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(raw))
    instrumentor = DjangoInstrumentor()
    instrumentor.instrument(tracer_provider=provider, response_hook=django_hook.django_response_hook)
    titles._SEEN.clear()
    ga.clear()
    try:
        yield Pipeline(provider, raw, ga)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
        titles._SEEN.clear()
        _set_semconv(stability, before)


def _set_semconv(stability: Any, value: str | None) -> None:
    # The instrumentations read the mode once per process: make them read it again, and leave
    # it as found for the tests that follow.
    if value:
        os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = value
    else:
        os.environ.pop("OTEL_SEMCONV_STABILITY_OPT_IN", None)
    stability._initialized = False
    stability._initialize()


@pytest.fixture(params=["", "http"], ids=["semconv-default", "semconv-http"])
def pipeline(
    request: pytest.FixtureRequest, ga: GACollector, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pipeline]:
    """Django instrumented as otel-aa does it, under both HTTP semantic-convention modes."""
    yield from _instrumented(ga, request.param, monkeypatch)


@pytest.fixture(params=["view_name", "html"])
def title_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both page-title modes; ``html`` with k = 3."""
    monkeypatch.setenv("OTEL_AA_PAGE_TITLE", request.param)
    monkeypatch.setenv("OTEL_AA_PAGE_TITLE_K", "3")
    config.reload()
    return str(request.param)
