"""In-process tests of the allowlist, the sampler, the hooks, identity, checks and the configurator's
pieces, with real SDK providers (not the global one), real Django (test client) and GA on loopback.
"""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, Decision, ParentBased, TraceIdRatioBased
from opentelemetry.trace import SpanKind

import otel_aa
from otel_aa import _config as config
from otel_aa import _configurator as configurator
from otel_aa import _django_hook as django_hook
from otel_aa import _identity as identity
from otel_aa import privacy
from otel_aa._allowlist_processor import AllowlistSpanProcessor
from otel_aa._ga_mapping import AAMapping
from otel_aa._sampling import AnalyticsSampler

from .conftest import TOKENS


class _Recorder(SpanProcessor):
    """Keeps every ended span, sampled or not (SimpleSpanProcessor drops unsampled ones)."""

    def __init__(self) -> None:
        self.spans: list = []

    def on_end(self, span) -> None:
        self.spans.append(span)

    def get_finished_spans(self):
        return tuple(self.spans)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        # Nothing buffered. Said explicitly: in SDK 1.40 (our lowest) the base class returns None, which
        # makes TracerProvider.force_flush report a failed flush.
        return True


def _provider(sampler=None):
    resource = Resource.create({"service.name": "canary-svc", "host.name": "h1"})
    tp = TracerProvider(sampler=sampler, resource=resource)
    full = _Recorder()
    reduced = InMemorySpanExporter()
    tp.add_span_processor(full)
    tp.add_span_processor(AllowlistSpanProcessor(SimpleSpanProcessor(reduced)))
    return tp, full, reduced


# --- allowlist -------------------------------------------------------------------------------


def test_allowlist_passes_a_reduced_copy_and_leaves_the_original_alone():
    tp, full, reduced = _provider()
    tracer = tp.get_tracer("t")
    with tracer.start_as_current_span("GET /x?q=secret", kind=SpanKind.SERVER, attributes={
        "http.method": "GET", "http.route": "x/<int:id>/", "http.target": "/x/5?q=secret",
        "http.user_agent": "UA", "net.peer.ip": "203.0.113.1", "ga.page.title": "T",
        "ga.event.param.extra": 1,
    }) as span:
        span.add_event("exception", {"exception.message": "secret"})
        span.set_status(privacy.Status(privacy.trace_api.StatusCode.ERROR, "secret text"))
    tracer.start_span("internal", kind=SpanKind.INTERNAL, attributes={"http.method": "GET"}).end()
    tp.shutdown()

    original, _internal = full.get_finished_spans()
    assert original.attributes["http.target"] == "/x/5?q=secret"  # untouched
    assert len(original.events) == 1
    (copy,) = reduced.get_finished_spans()  # the INTERNAL span is not GA's business
    assert dict(copy.attributes) == {"http.method": "GET", "http.route": "x/<int:id>/", "ga.page.title": "T",
                                     "ga.event.param.extra": 1}
    assert copy.name == "GET x/<int:id>/"
    assert copy.events == () and copy.links == () and copy.parent is None
    assert copy.status.description is None
    assert copy.context.trace_flags.sampled
    assert "service.name" not in copy.resource.attributes and "host.name" not in copy.resource.attributes
    assert copy.resource.attributes["telemetry.sdk.language"] == "python"


@pytest.mark.parametrize("sampled", [True, False], ids=["sampled", "recorded-only"])
def test_batching_allowlist_reduces_on_the_export_thread(sampled):
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON

    from otel_aa._sampling import AnalyticsSampler

    exporter = InMemorySpanExporter()
    tp = TracerProvider(sampler=AnalyticsSampler(ALWAYS_ON if sampled else ALWAYS_OFF),
                        resource=Resource.create({"service.name": "canary-svc"}))
    full = _Recorder()
    tp.add_span_processor(full)
    processor = AllowlistSpanProcessor.batching(exporter, analytics_only=True)
    tp.add_span_processor(processor)
    assert processor.exporter is exporter
    with tp.get_tracer("t").start_as_current_span("GET /x?q=secret", kind=SpanKind.SERVER, attributes={
        "http.method": "GET", "http.route": "x/<int:id>/", "http.target": "/x/5?q=secret",
        "net.peer.ip": "203.0.113.1",
    }) as span:
        span.add_event("exception", {"exception.message": "secret"})
    assert tp.force_flush(10_000)
    (original,) = full.get_finished_spans()
    assert original.attributes["http.target"] == "/x/5?q=secret"  # the original is untouched
    assert original.context.trace_flags.sampled is sampled
    (copy,) = exporter.get_finished_spans()  # what the exporter sees is reduced, either way
    assert dict(copy.attributes) == {"http.method": "GET", "http.route": "x/<int:id>/"}
    assert copy.events == () and "service.name" not in copy.resource.attributes
    tp.shutdown()


def test_batching_allowlist_drops_cheaply_and_counts_while_the_queue_is_full(caplog):
    import threading

    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    entered, release = threading.Event(), threading.Event()
    exported: list[str] = []

    class Stuck(SpanExporter):
        def export(self, spans):
            entered.set()
            release.wait(30)
            exported.extend(s.attributes["http.route"] for s in spans)
            return SpanExportResult.SUCCESS

    tp = TracerProvider()
    processor = AllowlistSpanProcessor.batching(Stuck(), max_queue_size=2, max_export_batch_size=1,
                                                schedule_delay_millis=1)
    tp.add_span_processor(processor)
    tracer = tp.get_tracer("t")

    def page(n: int) -> None:
        tracer.start_span("GET", kind=SpanKind.SERVER,
                          attributes={"http.method": "GET", "http.route": f"r{n}/"}).end()

    page(0)
    assert entered.wait(10)  # the exporter holds span 0; the queue (2) is empty again
    for n in range(1, 6):
        page(n)  # 1 and 2 fill the queue; 3, 4 and 5 are dropped here, not by the SDK
    assert processor.dropped == 3
    assert sum("queue is full" in r.getMessage() for r in caplog.records) == 1  # once per window
    release.set()
    assert tp.force_flush(10_000)
    assert sorted(exported) == ["r0/", "r1/", "r2/"]
    tp.shutdown()


def test_allowlist_for_other_exporters_keeps_every_sampled_span_reduced():
    exporter = InMemorySpanExporter()
    processor = AllowlistSpanProcessor(SimpleSpanProcessor(exporter), analytics_only=False)
    tp = TracerProvider()
    tp.add_span_processor(processor)
    tp.get_tracer("t").start_span("db", kind=SpanKind.CLIENT, attributes={"db.statement": "select"}).end()
    tp.shutdown()
    (span,) = exporter.get_finished_spans()
    assert dict(span.attributes) == {}


def test_every_allowlisted_name_is_documented_in_the_module():
    import ast

    with open(privacy.__file__) as handle:
        source = handle.read()
    lines = source.splitlines()
    (entries,) = [node.value for node in ast.parse(source).body if isinstance(node, ast.AnnAssign)
                  and getattr(node.target, "id", None) == "ALLOWED_SPAN_ATTRIBUTES"]
    assert isinstance(entries, ast.Call) and isinstance(entries.args[0], ast.Set)
    documented = set()
    for element in entries.args[0].elts:
        # Each entry names its attribute through the names modules, with a reason above it.
        name = eval(ast.unparse(element), vars(privacy))
        before = lines[max(0, element.lineno - 7):element.lineno - 1]
        assert any(line.strip().startswith("#") for line in before), f"{name} has no reason"
        documented.add(name)
    assert documented == privacy.ALLOWED_SPAN_ATTRIBUTES


# --- sampler ---------------------------------------------------------------------------------


@pytest.mark.parametrize("inner", [ALWAYS_OFF, ParentBased(TraceIdRatioBased(0.0))])
def test_sampler_keeps_analytics_spans_recorded_but_unsampled(inner):
    tp, full, reduced = _provider(AnalyticsSampler(inner))
    tracer = tp.get_tracer("t")
    tracer.start_span("GET", kind=SpanKind.SERVER).end()
    tracer.start_span("run/x", kind=SpanKind.CONSUMER).end()
    tracer.start_span("e", kind=SpanKind.INTERNAL, attributes={"ga.event.name": "celery_event"}).end()
    tracer.start_span("other", kind=SpanKind.INTERNAL).end()
    tracer.start_span("out", kind=SpanKind.CLIENT).end()
    tp.shutdown()
    assert len(full.get_finished_spans()) == 3  # recorded
    assert not any(s.context.trace_flags.sampled for s in full.get_finished_spans())
    assert len(reduced.get_finished_spans()) == 3
    # A BatchSpanProcessor (OTLP) still skips them: it only takes sampled spans.
    batch_exporter = InMemorySpanExporter()
    batch = BatchSpanProcessor(batch_exporter)
    for span in full.get_finished_spans():
        batch.on_end(span)
    batch.force_flush()
    assert batch_exporter.get_finished_spans() == ()
    batch.shutdown()


def test_sampler_leaves_a_sampling_decision_alone():
    sampler = AnalyticsSampler(ParentBased(TraceIdRatioBased(1.0)))
    result = sampler.should_sample(None, 1, "x", SpanKind.SERVER)
    assert result.decision is Decision.RECORD_AND_SAMPLE
    assert "AnalyticsSampler" in AnalyticsSampler(ALWAYS_OFF).get_description()


# --- titles and languages ----------------------------------------------------------------------


@pytest.mark.parametrize("header,expected", [
    # Django's parsing (q-weights) against the site's LANGUAGES (Django's default list here).
    ("de-DE,de;q=0.9", "de"), ("en", "en"), ("zh-Hant-TW", "zh-hant"), ("*", None), ("", None),
    ("<script>", None), ("en-US;q=0.8", "en"), ("en-GB", "en-gb"), ("x" * 50, None),
    ("canary-host.example", None),
    ("fr;q=0.1, es;q=0.9", "es"),
])
def test_site_language(header, expected):
    from otel_aa._closed_sets import site_language

    assert site_language(header) == expected


# --- the Django response hook, in a real request -------------------------------------------------


@pytest.fixture
def django_pipeline(ga, monkeypatch):
    """Django instrumented with its own provider: allowlist + batch + GA exporter to the collector."""
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    identity._reset_cache()
    exporter = GoogleAnalyticsSpanExporter(endpoint=ga.endpoint, tokens=TOKENS, client_id="test-client",
                                           validate=False, mapping=AAMapping())
    tp = TracerProvider(sampler=configurator._sampler())
    tp.add_span_processor(configurator.export_span_processor(exporter))
    full = _Recorder()
    tp.add_span_processor(full)
    instrumentor = DjangoInstrumentor()
    instrumentor.instrument(tracer_provider=tp, response_hook=django_hook.django_response_hook)
    try:
        yield tp, full
    finally:
        instrumentor.uninstrument()
        tp.shutdown()


def test_response_hook_in_a_request(django_pipeline, ga):
    tp, full = django_pipeline
    client = Client(HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.8", HTTP_X_TEST_USER="canaryuser-zq7xk",
                    HTTP_X_TEST_EMAIL="canary.zq7xk@example.org")
    unsampled = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
    response = client.get("/character/424242424242/?q=canaryquery", HTTP_HOST="canary-host.example",
                          HTTP_TRACEPARENT=unsampled)
    assert response.status_code == 200
    assert client.get("/", HTTP_TRACEPARENT="garbage").status_code == 200
    assert client.get("/api/").status_code == 200
    assert tp.force_flush(10_000)
    assert ga.wait_for(lambda c: len(c.events("page_view", "G-MAIN0001")) >= 2, timeout=10)
    spans = {s.attributes.get("http.route"): s for s in full.get_finished_spans()}
    character = spans["character/<int:character_id>/"]
    assert not character.context.trace_flags.sampled  # ratio 0 and the client's flag: not sampled...
    title = character.attributes["ga.page.title"]  # ...yet recorded, with GA's attributes
    # Every page sends its view's name (code), never its HTML title.
    assert title == "character"
    assert character.attributes["ga.page.language"] == "fr"  # one of settings.LANGUAGES
    assert character.attributes["ga.page.content_type"] == "text/html"
    assert spans[""].attributes["ga.page.title"] == "home"  # root route set by the hook
    assert character.attributes["ga.page.route"] == "/character/<int:character_id>/"  # every page's
    assert spans[""].attributes["ga.page.route"] == "/"
    assert spans["api/"].attributes["ga.page.content_type"] == "application/json"
    assert "ga.page.title" not in spans["api/"].attributes
    locations = sorted(e["params"]["page_location"] for e in ga.events("page_view", "G-MAIN0001"))
    assert [loc.split("/", 3)[-1] for loc in locations] == ["", "character/<int:character_id>/"]


def test_response_hook_never_loads_a_lazy_user():
    from django.contrib.auth.models import AnonymousUser
    from django.utils.functional import SimpleLazyObject

    loads = []
    request = RequestFactory().get("/")
    request.user = SimpleLazyObject(lambda: loads.append(1) or AnonymousUser())
    from otel_aa import _titles as titles

    assert titles._loaded_user(request) is None
    titles._visitor(request)  # what the html title mode reads about the visitor
    assert loads == []


@pytest.mark.guard_expected
def test_a_broken_hook_is_swallowed_and_reported(guard_reraises):
    tp, _full, _ = _provider()
    span = tp.get_tracer("t").start_span("GET", kind=SpanKind.SERVER)
    django_hook.django_response_hook(span, object(), object())  # no META, no resolver: must not raise
    span.end()
    assert guard_reraises and isinstance(guard_reraises[0], AttributeError)


# --- analytics_event, identity, configurator pieces ------------------------------------------------


def test_analytics_event_makes_a_ga_span(ga):
    from opentelemetry import trace

    tp, _full, reduced = _provider(AnalyticsSampler(ALWAYS_OFF))
    tracer = tp.get_tracer("otel_aa")
    original = otel_aa._tracer
    otel_aa._tracer = tracer
    try:
        assert otel_aa.analytics_event("ns", "t", label="l", result="r", value=True) is None
        otel_aa.analytics_event("ns", "daily", event_type="Stats", value=4)
    finally:
        otel_aa._tracer = original
    tp.shutdown()
    first, second = reduced.get_finished_spans()
    assert first.attributes["ga.event.name"] == "celery_event"
    assert first.attributes["ga.event.stream"] == "celery_events"
    assert first.attributes["ga.event.param.value"] == 1
    assert second.attributes["ga.event.stream"] == "daily_stats"
    assert second.attributes["ga.event.param.value"] == 4
    assert trace.get_current_span() is trace.INVALID_SPAN


@pytest.mark.django_db
def test_client_id_is_one_stored_uuid():
    import uuid

    identity._reset_cache()
    first = identity.client_id()
    identity._reset_cache()
    assert identity.client_id() == first
    assert uuid.UUID(first).version == 4
    from otel_aa.models import InstallIdentity

    assert InstallIdentity.objects.count() == 1


def test_export_span_processor_wraps_ga_only(monkeypatch):
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    ga_processor = configurator.export_span_processor(GoogleAnalyticsSpanExporter(
        tokens=[], mapping=AAMapping()))
    assert isinstance(ga_processor, AllowlistSpanProcessor)
    otlp = OTLPSpanExporter(endpoint="http://127.0.0.1:9/v1/traces")
    assert isinstance(configurator.export_span_processor(otlp), BatchSpanProcessor)
    monkeypatch.setenv("OTEL_AA_OTLP_ALLOWLIST", "true")
    config.reload()
    wrapped = configurator.export_span_processor(otlp)
    assert isinstance(wrapped, AllowlistSpanProcessor)
    for processor in (ga_processor, wrapped):
        processor.shutdown()


def test_ga_metrics_entry_point_is_the_reader_the_sdk_builds_and_stops(monkeypatch):
    """``ga`` names the daily-stats reader: the SDK builds it with the configurator's arguments
    (no environment rewritten around it) and its MeterProvider shuts it down."""
    import os
    from importlib.metadata import entry_points

    from opentelemetry.exporter.google_analytics import GoogleAnalyticsMetricReader
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import MetricReader

    from otel_aa._lease import DjangoLease

    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "ga,otlp")
    before = dict(os.environ)
    (entry_point,) = entry_points(group="opentelemetry_metrics_exporter", name="ga")
    reader_cls = entry_point.load()
    assert reader_cls is GoogleAnalyticsMetricReader and issubclass(reader_cls, MetricReader)
    args = configurator.exporter_args_map()[reader_cls]
    assert isinstance(args["lease"], DjangoLease) and args["settings"] is not None
    assert args["send_due_at_shutdown"] is True  # a worker recycled before its first check
    reader = reader_cls(**args)
    assert dict(os.environ) == before
    provider = MeterProvider(metric_readers=[reader])
    assert reader in GoogleAnalyticsMetricReader.running()
    provider.shutdown()
    assert reader not in GoogleAnalyticsMetricReader.running()


def test_checks(settings, monkeypatch):
    from otel_aa import checks

    monkeypatch.setenv("OTEL_EXPORTER_GA_MEASUREMENT_ID", "not-an-id")
    monkeypatch.setenv("OTEL_EXPORTER_GA_API_SECRET", "canarysecret-zq7xk")
    ids = {m.id for m in checks.check_tokens()}
    assert "otel_aa.W001" in ids
    assert all("canarysecret" not in m.msg for m in checks.check_tokens())
    settings.ANALYTICS_DISABLED = True
    config.reload()
    assert "otel_aa.I001" in {m.id for m in checks.check_tokens()}
    assert [m.id for m in checks.check_pipeline()] == ["otel_aa.W002"]
    settings.MIDDLEWARE = ["x", checks._OTEL_MIDDLEWARE]
    assert [m.id for m in checks.check_middleware()] == ["otel_aa.W003"]
    settings.MIDDLEWARE = [checks._OTEL_MIDDLEWARE, "x"]
    assert checks.check_middleware() == []


@pytest.mark.parametrize(
    ("exporters", "noop"),
    [("ga", True), ("", True), ("none", True), ("ga,otlp", False), ("otlp", False)],
)
def test_instrumentation_metrics_are_skipped_when_only_ga_reads_metrics(monkeypatch, exporters, noop):
    from opentelemetry.metrics import NoOpMeterProvider

    monkeypatch.setenv("OTEL_METRICS_EXPORTER", exporters)
    from otel_aa._instrumenting import instrumentor_kwargs

    for name in ("django", "celery"):
        kwargs = instrumentor_kwargs(name)
        assert isinstance(kwargs.get("meter_provider"), NoOpMeterProvider) is noop


def test_daily_stats_lease_is_not_due_before_django_is_set_up(monkeypatch):
    """The reader's first check can come before django.setup() ends: not due, and no error logged."""
    from django.apps import apps

    from otel_aa._lease import DjangoLease

    lease = DjangoLease()
    monkeypatch.setattr(apps, "ready", False)
    monkeypatch.setattr(lease, "_cache", lambda: pytest.fail("the cache was used before set-up"))
    monkeypatch.setattr(lease, "_db_due", lambda: pytest.fail("the database was used before set-up"))
    assert lease.due() is False
    assert lease.acquire() is False
