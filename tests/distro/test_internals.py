"""Every read of an SDK private part goes through ``otel_aa._internals``, and outside the SDK
versions otel-aa supports each gives "can't tell", so its caller takes the public path."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_aa import _internals
from otel_aa._allowlist_processor import AllowlistSpanProcessor

from .conftest import ROOT, base_env
from .test_configure import _run

#: The SDK's private attributes otel-aa reads (the only ones: checked below).
SDK_PRIVATE = ("_active_span_processor", "_span_processors", "_batch_processor", "_queue",
               "_max_queue_size", "_sdk_config")


@pytest.fixture
def sdk_outside(monkeypatch):
    """The installed SDK counts as a version otel-aa's reads weren't written for."""
    monkeypatch.setattr(_internals, "unsupported_versions", lambda: {_internals.SDK: "9.0.0"})


def test_at_a_supported_sdk_each_read_finds_its_part():
    provider = TracerProvider()
    batch = BatchSpanProcessor(InMemorySpanExporter())
    provider.add_span_processor(batch)
    try:
        assert _internals.span_processors(provider) == (batch,)
        assert len(_internals.batch_queue(batch)._queue) == 0
        assert _internals.meter_provider_config(MeterProvider()).views == ()
    finally:
        provider.shutdown()


def test_outside_the_supported_sdk_versions_each_read_gives_none(sdk_outside):
    provider = TracerProvider()
    batch = BatchSpanProcessor(InMemorySpanExporter())
    provider.add_span_processor(batch)
    try:
        assert _internals.span_processors(provider) is None
        assert _internals.batch_queue(batch) is None
        assert _internals.meter_provider_config(MeterProvider()) is None
    finally:
        provider.shutdown()


def test_outside_them_the_allowlist_queues_through_the_sdks_own_path(sdk_outside):
    exporter = InMemorySpanExporter()
    processor = AllowlistSpanProcessor.batching(exporter, max_queue_size=4, max_export_batch_size=2)
    provider = TracerProvider()
    provider.add_span_processor(processor)
    try:
        assert processor._batcher is None  # no queue read: the SDK drops what doesn't fit itself
        attributes = {"http.request.method": "GET", "client.address": "10.1.2.3"}
        tracer = provider.get_tracer("t")
        with tracer.start_as_current_span("GET", kind=SpanKind.SERVER, attributes=attributes):
            pass
        provider.force_flush()
        (span,) = exporter.get_finished_spans()
        assert "client.address" not in (span.attributes or {})  # reduced all the same
    finally:
        provider.shutdown()


def test_no_other_module_reads_an_sdk_private_part():
    # Attribute reads named in SDK_PRIVATE, outside _internals: getattr(x, "_name") or x._name.
    # _lean_readers also reads contrib's middleware privates, but no SDK one.
    found = []
    for path in sorted((ROOT / "otel_aa").rglob("*.py")):
        if path.name == "_internals.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            name = None
            owner = getattr(node, "value", None)
            own = isinstance(owner, ast.Name) and owner.id == "self"
            if isinstance(node, ast.Attribute) and not own:
                name = node.attr
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                name = node.value
            if name in SDK_PRIVATE:
                found.append(f"{Path(path).relative_to(ROOT)}:{node.lineno} {name}")
    assert found == []


OUTSIDE_PROBE = r"""
import json
from otel_aa import _internals
_internals.SUPPORTED_VERSIONS = {**_internals.SUPPORTED_VERSIONS, _internals.SDK: ("0.0.1", "0.0.2")}
import otel_aa
otel_aa.configure()
import django
django.setup()
from otel_aa import checks, _configurator as configurator
print("RESULT " + json.dumps({
    "configured": configurator.is_configured(),
    "w002": [m.id for m in checks.check_pipeline()],
    "unsupported": sorted(_internals.unsupported_versions()),
}))
"""


def test_outside_them_configure_still_knows_it_configured(tmp_path, redis_server):
    result, done = _run(base_env(redis_server, tmp_path / "db.sqlite3"), OUTSIDE_PROBE)
    want = {"configured": True, "w002": [], "unsupported": ["opentelemetry-sdk"]}
    assert result == want, done.stderr[-3000:]


def test_outside_them_a_processor_made_but_never_configured_does_not_count(sdk_outside):
    from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter

    from otel_aa import _configurator as configurator

    processor = configurator.export_span_processor(GoogleAnalyticsSpanExporter(tokens=[]))
    try:
        assert isinstance(processor, AllowlistSpanProcessor)
        assert configurator.is_configured() is False
    finally:
        processor.shutdown()
