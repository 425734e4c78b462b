"""Fixtures for the GA exporter tests: a loopback GA, clean settings, spans from a real SDK."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from ga_test_support import SpanFactory
from opentelemetry.exporter.google_analytics import _log
from opentelemetry.exporter.google_analytics._transport import _Transport
from opentelemetry.exporter.google_analytics.testing import GACollector


@pytest.fixture(autouse=True)
def clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No GA setting leaks in from the machine; every log-once starts fresh."""
    for name in list(os.environ):
        if name.startswith("OTEL_EXPORTER_GA_"):
            monkeypatch.delenv(name)
    _log._reset()
    yield
    _log._reset()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short backoffs and budget, so retry tests take milliseconds, not seconds."""
    monkeypatch.setattr(_Transport, "BACKOFF_INITIAL", 0.01)
    monkeypatch.setattr(_Transport, "BACKOFF_MAX", 0.05)
    monkeypatch.setattr(_Transport, "MAX_RETRY_SECONDS", 5.0)


@pytest.fixture
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


@pytest.fixture
def spans() -> Iterator[SpanFactory]:
    factory = SpanFactory()
    yield factory
    factory.provider.shutdown()
