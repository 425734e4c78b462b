"""Opt-outs and the destination fail closed: a value that can't be read is reported once (its name,
never its value) and takes the side that sends less."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client, override_settings
from opentelemetry.exporter.google_analytics import (
    GoogleAnalyticsSpanExporter,
    _log,
    load_tokens,
    reload_settings,
)
from opentelemetry.exporter.google_analytics import settings as ga_settings
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_aa import _compat as compat
from otel_aa import _config as config
from otel_aa import _configurator as configurator
from otel_aa._allowlist_processor import AllowlistSpanProcessor
from otel_aa._ga_mapping import AAMapping
from otel_aa._host_settings import django_setting
from privacy.conftest import TOKENS, Pipeline

UNREADABLE = ["y", "2", "disable", "zq7maybe", " on please "]
CANARY = "zq7"


@pytest.fixture(autouse=True)
def _fresh_log() -> Iterator[None]:
    _log._reset()
    yield
    _log._reset()


def _named(caplog: pytest.LogCaptureFixture, name: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if name in r.getMessage()]


@pytest.mark.parametrize("value", UNREADABLE)
def test_resolve_fail_closed_takes_the_closed_side_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    monkeypatch.setenv("OTEL_X_SWITCH", value)
    with override_settings(OTEL_X_SWITCH=False):  # the next source must not be taken instead
        for _ in range(3):
            assert ga_settings.resolve_fail_closed("OTEL_X_SWITCH", None, False, ga_settings.parse_bool,
                                                   True, "off", settings=django_setting) is True
    (message,) = _named(caplog, "OTEL_X_SWITCH")
    assert CANARY not in message and "not a boolean" in message


@pytest.mark.parametrize("value", [["true"], ("x",), 2, -1, b"true", {"a": 1}, 1.0])
def test_a_wrong_type_is_unreadable(value: Any) -> None:
    with override_settings(OTEL_X_SWITCH=value):
        assert ga_settings.resolve_fail_closed("OTEL_X_SWITCH", None, False, ga_settings.parse_bool,
                                               "closed", "off", settings=django_setting) == "closed"


def test_precedence_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    def read(argument: bool | None = None) -> Any:
        return ga_settings.resolve_fail_closed("OTEL_X_SWITCH", argument, "default", ga_settings.parse_bool,
                                               "closed", "off", settings=django_setting)

    assert read() == "default"
    with override_settings(OTEL_X_SWITCH="false"):
        assert read() is False
        monkeypatch.setenv("OTEL_X_SWITCH", "true")
        assert read() is True
        assert read(False) is False


@pytest.mark.parametrize("value", UNREADABLE)
def test_an_unreadable_default_flag_turns_its_stream_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_GA_PAGE_VIEWS", value)
    monkeypatch.setenv("OTEL_EXPORTER_GA_DAILY_STATS", "true")
    (token,) = load_tokens(tokens=TOKENS)
    assert token.page_views is False
    assert token.celery_events is True and token.daily_stats is True


@pytest.mark.parametrize("value", [*UNREADABLE, 2, ["yes"]])
def test_an_unreadable_token_flag_keeps_the_token_with_that_stream_off(
    caplog: pytest.LogCaptureFixture, value: Any
) -> None:
    good = {"name": "good", "measurement_id": "G-GOOD0001", "api_secret": "goodsecret-71be3a0c"}
    (bad, other) = load_tokens(tokens=[{**TOKENS[0], "celery_events": value}, good])
    assert bad.name == "privacy" and bad.celery_events is False and bad.page_views is True
    assert other.celery_events is True
    (message,) = _named(caplog, "celery_events flag")
    assert "privacysecret" not in message


@pytest.mark.parametrize("value", UNREADABLE)
@override_settings(ROOT_URLCONF="privacy.urls")
@pytest.mark.django_db
def test_an_unreadable_analytics_disabled_sends_nothing(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    monkeypatch.setenv("ANALYTICS_DISABLED", value)
    config.reload()  # settings are resolved once: a change is seen at the reload (AppConfig.ready)
    reload_settings()
    assert compat.analytics_disabled() is True
    assert Client().get("/shared/").status_code == 200
    assert pipeline.page_views() == []
    monkeypatch.setenv("ANALYTICS_DISABLED", "false")  # the control: readable and off, it sends
    config.reload()
    reload_settings()
    assert Client().get("/shared/").status_code == 200
    assert len(pipeline.page_views()) == 1
    assert len(_named(caplog, "ANALYTICS_DISABLED")) == 1


@pytest.mark.parametrize("value", UNREADABLE)
def test_an_unreadable_otlp_allowlist_is_on(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OTEL_AA_OTLP_ALLOWLIST", value)
    config.reload()
    processor = configurator.export_span_processor(InMemorySpanExporter())
    try:
        assert isinstance(processor, AllowlistSpanProcessor)
    finally:
        processor.shutdown()


def _exporter(ga: GACollector, **kwargs: Any) -> GoogleAnalyticsSpanExporter:
    return GoogleAnalyticsSpanExporter(tokens=TOKENS, client_id="privacy-client", validate=False, timeout=5,
                                       **kwargs, mapping=AAMapping(), settings=django_setting)


@pytest.mark.parametrize("endpoint", [
    ("https://region1.google-analytics.com/mp/collect",),  # a trailing comma in settings.py
    b"https://region1.google-analytics.com/mp/collect",
    "",
    "   ",
    "region1.google-analytics.com/mp/collect",
    "https://",
    "https://host/mp/col lect",
    "https://host\n/mp/collect",
    ["https://x"],
], ids=["tuple", "bytes", "empty", "blank", "no-scheme", "no-host", "space", "newline", "list"])
def test_an_unreadable_endpoint_sends_nowhere(
    ga: GACollector, caplog: pytest.LogCaptureFixture, endpoint: Any
) -> None:
    from opentelemetry.trace import SpanKind

    ga.clear()
    provider = TracerProvider()
    with override_settings(OTEL_EXPORTER_GA_ENDPOINT=endpoint):
        exporter = _exporter(ga)
        provider.add_span_processor(configurator.export_span_processor(exporter))
        with provider.get_tracer("t").start_as_current_span(
                "GET x/", kind=SpanKind.SERVER,
                attributes={"http.method": "GET", "http.status_code": 200, "http.route": "x/",
                            "ga.page.content_type": "text/html"}):
            pass
        assert provider.force_flush(10_000)
        transport = exporter._pipeline.transport
        assert transport.usable is False
        assert transport.attempts == 0, "an unreadable endpoint fell back to another host"
        messages = _named(caplog, "OTEL_EXPORTER_GA_ENDPOINT")
        assert len(messages) == 1 and "nothing is sent" in messages[0]
        assert "google-analytics.com" not in messages[0]
    # The control: a readable endpoint sends (once the settings are resolved again).
    with override_settings(OTEL_EXPORTER_GA_ENDPOINT=ga.endpoint):
        reload_settings()
        with provider.get_tracer("t").start_as_current_span(
                "GET x/", kind=SpanKind.SERVER,
                attributes={"http.method": "GET", "http.status_code": 200, "http.route": "x/",
                            "ga.page.content_type": "text/html"}):
            pass
        assert provider.force_flush(10_000)
    provider.shutdown()
    assert len(ga.events("page_view")) == 1
