"""OTEL_AA_OTLP_ALLOWLIST covers metrics and the resource too, not only spans."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_aa import _config as config
from otel_aa import _configurator as configurator
from otel_aa import _otlp_allowlist as otlp_allowlist

CANARY = "zq7canary"
RESOURCE = Resource({"service.name": f"svc-{CANARY}", "host.name": f"host-{CANARY}", "host.id": CANARY,
                     "process.pid": 4242, "process.command_line": f"gunicorn {CANARY}",
                     "service.instance.id": CANARY, "telemetry.sdk.language": "python"})


def test_metrics_and_their_resource_are_reduced(monkeypatch: pytest.MonkeyPatch) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], resource=RESOURCE)
    monkeypatch.setattr(otlp_allowlist.metrics, "get_meter_provider", lambda: provider)
    otlp_allowlist.reduce_metrics()
    histogram = provider.get_meter("opentelemetry.instrumentation.django").create_histogram(
        "http.server.request.duration")
    histogram.record(0.1, {"http.request.method": "GET", "http.route": "x/", "http.response.status_code": 200,
                           "server.address": f"{CANARY}.example", "server.port": 443, "url.scheme": "https",
                           "client.address": "203.0.113.9"})
    data = reader.get_metrics_data()
    provider.shutdown()
    assert data is not None
    (resource_metrics,) = data.resource_metrics
    assert CANARY not in repr(dict(resource_metrics.resource.attributes))
    assert dict(resource_metrics.resource.attributes) == {"telemetry.sdk.language": "python"}
    (point,) = resource_metrics.scope_metrics[0].metrics[0].data.data_points
    assert dict(point.attributes) == {"http.request.method": "GET", "http.route": "x/",
                                      "http.response.status_code": 200}


def test_spans_and_their_resource_are_reduced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_AA_OTLP_ALLOWLIST", "true")
    config.reload()  # resolved once: the change is seen at the reload
    otlp = InMemorySpanExporter()
    provider = TracerProvider(resource=RESOURCE)
    provider.add_span_processor(configurator.export_span_processor(otlp))
    with provider.get_tracer("t").start_as_current_span(
            "GET /x/", kind=SpanKind.SERVER,
            attributes={"http.method": "GET", "http.route": "x/", "http.host": f"{CANARY}.example",
                        "http.user_agent": CANARY}):
        pass
    assert provider.force_flush(10_000)
    (span,) = otlp.get_finished_spans()
    provider.shutdown()
    assert CANARY not in repr(dict(span.attributes or {})) + repr(dict(span.resource.attributes)) + span.name


def test_configure_applies_it_to_the_global_meter_provider() -> None:
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).resolve().parent.parent
    code = (
        "import otel_aa, json; otel_aa.configure(); from opentelemetry import metrics; "
        "c = metrics.get_meter_provider()._sdk_config; "
        "print(json.dumps({'views': len(c.views), 'resource': sorted(c.resource.attributes)}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTEST_"))}
    env.update(PYTHONPATH=os.pathsep.join([str(tests), str(tests.parent)]),
               DJANGO_SETTINGS_MODULE="_site.settings",
               OTEL_AA_OTLP_ALLOWLIST="true", OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="console",
               OTEL_METRIC_EXPORT_INTERVAL="600000", OTEL_RESOURCE_ATTRIBUTES=f"host.name={CANARY}")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["views"] == 1
    assert set(found["resource"]) <= {"telemetry.sdk.name", "telemetry.sdk.language", "telemetry.sdk.version",
                                      "telemetry.auto.version"}
