"""The leaner Django instrumentation (``otel_aa._lean``): only when nothing but the allowlist reads."""

from __future__ import annotations

import json

import pytest
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NoOpTracerProvider, ProxyTracerProvider

from otel_aa import _lean as lean
from otel_aa._allowlist_processor import AllowlistSpanProcessor
from otel_aa.privacy import filter_attributes

from .conftest import base_env
from .test_configure import _run


def _allowlist(analytics_only: bool = True) -> AllowlistSpanProcessor:
    return AllowlistSpanProcessor(SimpleSpanProcessor(InMemorySpanExporter()), analytics_only=analytics_only)


def _provider(*processors) -> TracerProvider:
    provider = TracerProvider()
    for processor in processors:
        provider.add_span_processor(processor)
    return provider


@pytest.mark.parametrize(
    ("make_provider", "read"),
    [
        pytest.param(lambda: _provider(_allowlist()), False, id="GA only"),
        pytest.param(lambda: _provider(_allowlist(), _allowlist(analytics_only=False)), False,
                     id="GA and OTLP behind the allowlist"),
        pytest.param(lambda: _provider(_allowlist(), BatchSpanProcessor(InMemorySpanExporter())), True,
                     id="GA and full OTLP"),
        pytest.param(lambda: _provider(SimpleSpanProcessor(InMemorySpanExporter())), True, id="no GA"),
        pytest.param(lambda: _provider(), True, id="SDK provider without processors"),
        pytest.param(ProxyTracerProvider, True, id="API proxy provider"),
        pytest.param(NoOpTracerProvider, True, id="no-op provider"),
    ],
)
def test_full_spans_read(make_provider, read):
    assert lean.full_spans_read(make_provider()) is read


def test_a_processor_added_later_counts_at_once():
    provider = _provider(_allowlist())
    assert lean.full_spans_read(provider) is False
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    assert lean.full_spans_read(provider) is True


class _Middleware:
    def __init__(self, meter_provider) -> None:
        meter = meter_provider.get_meter("test")
        self._duration_histogram_old = meter.create_histogram("old")
        self._duration_histogram_new = None
        self._active_request_counter = meter.create_up_down_counter("active")


def test_request_metrics_read_only_with_real_instruments():
    assert lean.request_metrics_read(_Middleware(NoOpMeterProvider())) is False
    assert lean.request_metrics_read(_Middleware(MeterProvider())) is True


@pytest.mark.parametrize("mode", ["default", "http", "http/dup"])
@pytest.mark.parametrize("method", ["GET", "get", "POST", "PROPFIND", ""])
def test_analytics_request_attributes_are_what_the_allowlist_keeps_of_the_full_ones(method, mode):
    from django.test import RequestFactory
    from opentelemetry.instrumentation._semconv import _StabilityMode
    from opentelemetry.instrumentation.wsgi import collect_request_attributes

    environ = RequestFactory().get("/x/?q=canary", HTTP_USER_AGENT="canary-agent").META
    environ["REQUEST_METHOD"] = method
    full = collect_request_attributes(environ, _StabilityMode(mode))
    expected = filter_attributes(full)
    assert expected  # the method is always there
    assert lean.analytics_request_attributes(environ, _StabilityMode(mode)) == expected
    assert lean.analytics_request_attributes(environ, mode) == expected


PROBE = r"""
import json, os
import otel_aa
otel_aa.configure()
import django
django.setup()
from django.test import Client, RequestFactory
from opentelemetry import trace
from opentelemetry.instrumentation.django.middleware import otel_middleware
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

meta = RequestFactory().get("/ignored/?q=canary-query", HTTP_USER_AGENT="canary-agent",
                            HTTP_X_CANARY="canary-header").META
middleware = otel_middleware._DjangoMiddleware

def seen():
    return {
        "request": otel_middleware.wsgi_collect_request_attributes(meta, middleware._sem_conv_opt_in_mode),
        "headers": otel_middleware.wsgi_collect_custom_request_headers_attributes(meta),
        "name": middleware._get_span_name(RequestFactory().get("/ignored/")),
    }

out = {"lean": seen(), "status_lean": Client().get("/ignored/?q=canary-query").status_code}
memory = InMemorySpanExporter()
trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(memory))
out["full"] = seen()
out["status_full"] = Client().get("/ignored/?q=canary-query").status_code
span = [s for s in memory.get_finished_spans() if s.kind.name == "SERVER"][0]
out["full_span"] = {"name": span.name, "attributes": dict(span.attributes)}
otel_aa.shutdown()
print("RESULT " + json.dumps(out, default=str))
"""


@pytest.mark.parametrize("metrics", ["ga", "ga,otlp"])
def test_ga_only_collects_the_method_and_a_hand_added_processor_gets_everything(tmp_path, redis_server, ga,
                                                                              otlp, metrics):
    env = base_env(redis_server, tmp_path / "db.sqlite3")
    env.update(OTEL_EXPORTER_GA_TOKENS=json.dumps([{"name": "t", "measurement_id": "G-LEAN0001",
                                                    "api_secret": "leansecret-1"}]),
               OTEL_EXPORTER_GA_ENDPOINT=ga.endpoint, OTEL_METRICS_EXPORTER=metrics,
               OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint, OTEL_METRIC_EXPORT_INTERVAL="600000",
               OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_SERVER_REQUEST="X-Canary",
               # This database is never migrated, so no install identity is settled (and
               # otel-aa sends nothing without one): the admin's own client_id stands in.
               OTEL_EXPORTER_GA_CLIENT_ID="lean-test-client")
    # Its own cache keys: the GA metric reader takes the daily-stats lease, which other tests expect free.
    env["OTEL_AA_TEST_REDIS_PREFIX"] = f"{redis_server.prefix}lean-{metrics}:"
    result, done = _run(env, PROBE)
    assert result["status_lean"] == result["status_full"] == 200, done.stderr[-3000:]

    # GA only reads the spans: no URL, client, agent or header is collected, no name resolved.
    if metrics == "ga":
        assert result["lean"]["request"] == {"http.method": "GET"}
    else:  # the request metrics are read (OTLP): their attributes are still collected
        assert "http.scheme" in result["lean"]["request"]
    assert result["lean"]["headers"] == {}
    assert result["lean"]["name"] == "GET"

    # A processor added by hand reads full spans: the instrumentation's whole output, at once.
    assert "canary-query" in result["full"]["request"]["http.url"]
    assert result["full"]["request"]["http.user_agent"] == "canary-agent"
    assert result["full"]["headers"] == {"http.request.header.x_canary": ["canary-header"]}
    assert result["full"]["name"] == "GET ignored/"
    assert result["full_span"]["name"] == "GET ignored/"
    assert "canary-query" in result["full_span"]["attributes"]["http.url"]

    # GA got both page views, the same either way.
    views = [e for hit in ga.hits for e in hit.events if e["name"] == "page_view"]
    assert len(views) == 2, [h.events for h in ga.hits]
    timing = "engagement_time_msec"  # the request's duration
    assert {k: v for k, v in views[0]["params"].items() if k != timing} == {
        k: v for k, v in views[1]["params"].items() if k != timing}
    assert views[0]["params"]["page_location"].endswith("/ignored/")
    body = json.dumps([h.body for h in ga.hits])
    assert "canary" not in body.replace("leansecret", "")


@pytest.mark.parametrize("full_reader", [False, True], ids=["GA only", "GA and a full reader"])
def test_celery_context_attributes_are_what_is_read(monkeypatch, full_reader):
    from opentelemetry import trace
    from opentelemetry.instrumentation.celery import utils

    lean.patch_celery_instrumentation()
    lean.patch_celery_instrumentation()  # idempotent
    helper = utils.set_attributes_from_context
    assert helper._otel_aa_patched and not getattr(helper.__wrapped__, "_otel_aa_patched", False)
    processors = [_allowlist()] + ([SimpleSpanProcessor(InMemorySpanExporter())] if full_reader else [])
    provider = _provider(*processors)
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    context = {"id": "canary-id", "hostname": "canary-host", "state": "SUCCESS", "retries": 2,
               "delivery_info": {"routing_key": "canary-queue"}, "correlation_id": "canary-corr"}

    span = provider.get_tracer("test").start_span("run/x")
    helper(span, context)
    upstream = provider.get_tracer("test").start_span("run/x")
    helper.__wrapped__(upstream, context)
    if full_reader:
        assert dict(span.attributes) == dict(upstream.attributes)
    else:
        assert dict(span.attributes) == {"celery.state": "SUCCESS"}
        # Nothing the allowlist would keep is lost.
        assert filter_attributes(upstream.attributes) == dict(span.attributes)


def test_full_spans_read_of_a_tracer_or_span_is_that_of_its_provider():
    ga_only, full = _provider(_allowlist()), _provider(SimpleSpanProcessor(InMemorySpanExporter()))
    for provider, read in ((ga_only, False), (full, True)):
        tracer = provider.get_tracer("test")
        assert lean.full_spans_read(tracer) is read
        assert lean.full_spans_read(tracer.start_span("x")) is read


@pytest.mark.parametrize("full_reader", [False, True], ids=["GA only", "a full reader"])
def test_django_decides_by_the_instrumentors_own_provider(monkeypatch, full_reader):
    """The Django spans go where the instrumentor's tracer sends them, whatever the global provider."""
    from django.test import RequestFactory
    from opentelemetry.instrumentation.django.middleware import otel_middleware

    lean.patch_django_instrumentation()
    middleware = otel_middleware._DjangoMiddleware
    processors = [_allowlist()] + ([SimpleSpanProcessor(InMemorySpanExporter())] if full_reader else [])
    meter = NoOpMeterProvider().get_meter("test")
    monkeypatch.setattr(middleware, "_tracer", _provider(*processors).get_tracer("test"))
    monkeypatch.setattr(middleware, "_duration_histogram_old", meter.create_histogram("d"))
    monkeypatch.setattr(middleware, "_duration_histogram_new", None)
    monkeypatch.setattr(middleware, "_active_request_counter", meter.create_up_down_counter("a"))
    # The mode an earlier instrument() left on the class is not what this test is about.
    from opentelemetry.instrumentation._semconv import _StabilityMode

    monkeypatch.setattr(middleware, "_sem_conv_opt_in_mode", _StabilityMode.DEFAULT, raising=False)
    environ = RequestFactory().get("/ignored/?q=canary", HTTP_USER_AGENT="canary-agent").META

    collected = otel_middleware.wsgi_collect_request_attributes(environ, middleware._sem_conv_opt_in_mode)
    name = middleware._get_span_name(RequestFactory().get("/ignored/"))
    if full_reader:
        assert collected["http.user_agent"] == "canary-agent" and name == "GET ignored/"
    else:
        assert collected == {"http.method": "GET"} and name == "GET"


# --- the supported versions ----------------------------------------------------------------------


def test_the_installed_versions_are_the_supported_ones():
    from packaging.version import Version

    for lowest, newest in lean.SUPPORTED_VERSIONS.values():
        assert Version(lowest) <= Version(newest)
    # A release beyond the table turns the patches off: check it, then widen the table.
    assert dict(lean.unsupported_versions()) == {}


OUTSIDE_PROBE = r"""
import json, logging
from otel_aa import _lean as lean

lines = []
class Keep(logging.Handler):
    def emit(self, record):
        lines.append([record.levelname, record.getMessage()])
logging.getLogger("otel_aa").addHandler(Keep())
logging.getLogger("otel_aa").setLevel(logging.INFO)
# The SDK installed is newer than what the patches say they were written for.
from otel_aa import _internals
_internals.SUPPORTED_VERSIONS = {**_internals.SUPPORTED_VERSIONS, _internals.SDK: ("0.0.1", "0.0.2")}
import django
django.setup()  # otel_aa's AppConfig.ready applies the patches it can
from opentelemetry.instrumentation.celery import utils
from opentelemetry.instrumentation.django.middleware import otel_middleware

for _ in range(2):
    lean.patch_django_instrumentation()
    lean.patch_celery_instrumentation()
middleware = otel_middleware._DjangoMiddleware
helpers = [otel_middleware.wsgi_collect_request_attributes,
           otel_middleware.wsgi_collect_custom_request_headers_attributes,
           middleware.__dict__["_get_span_name"], middleware.process_request, middleware.process_view,
           middleware.process_response, utils.set_attributes_from_context]
print("RESULT " + json.dumps({
    "lean": [bool(getattr(getattr(h, "__func__", h), "_otel_aa_patched", False)) for h in helpers],
    "latin1": bool(getattr(otel_middleware.wsgi_collect_request_attributes, "_otel_aa_latin1", False)),
    "unsupported": dict(lean.unsupported_versions()),
    "lines": lines,
}))
"""


def test_outside_the_supported_versions_the_patches_stay_off_with_one_info_line(tmp_path, redis_server):
    env = base_env(redis_server, tmp_path / "db.sqlite3")
    result, _done = _run(env, OUTSIDE_PROBE)
    assert result["lean"] == [False] * 7  # the instrumentation does its full work
    assert result["latin1"] is True  # the path fix has its own switch: the SDK is not its business
    installed = result["unsupported"]["opentelemetry-sdk"]
    assert list(result["unsupported"]) == ["opentelemetry-sdk"]
    (line,) = result["lines"]
    assert line[0] == "INFO" and f"opentelemetry-sdk {installed}" in line[1] and "stay off" in line[1]


# --- the excluded-URL check ----------------------------------------------------------------------


@pytest.mark.parametrize("excluded", [None, "healthz"], ids=["nothing excluded", "healthz excluded"])
def test_the_exclusion_check_builds_no_url_while_nothing_is_excluded(monkeypatch, excluded):
    from django.http import HttpRequest
    from django.test import Client
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    real = HttpRequest.build_absolute_uri
    built: list[object] = []

    def counting(self, location=None):
        built.append(location)
        return real(self, location)

    monkeypatch.setattr(HttpRequest, "build_absolute_uri", counting)
    hooked: list[tuple[str, str]] = []

    def response_hook(span, request, response):
        # A hook that builds the URL gets Django's own answer, not the check's stand-in.
        hooked.append((request.build_absolute_uri("?"), real(request, "?")))

    memory = InMemorySpanExporter()
    provider = _provider(SimpleSpanProcessor(memory))
    instrumentor = DjangoInstrumentor()
    instrumentor.instrument(tracer_provider=provider, excluded_urls=excluded or "",
                            response_hook=response_hook)
    lean.patch_django_instrumentation()
    try:
        client = Client()
        assert client.get("/character/7/").status_code == 200
        assert client.get("/healthz/").status_code == 200
    finally:
        instrumentor.uninstrument()
    routes = sorted(s.attributes.get("http.route") for s in memory.get_finished_spans())
    assert hooked and all(got == want for got, want in hooked)
    if excluded is None:
        assert routes == ["character/<int:character_id>/", "healthz/"]
        assert built == ["?"] * len(hooked)  # only the hook's own calls
    else:
        assert routes == ["character/<int:character_id>/"]
        assert built == ["?"] * (3 + 3 + len(hooked))  # each request's three checks, as written
