"""Credentials in a GA endpoint (user-info, a relay's key in the query) are masked everywhere
otel-aa prints or logs it: the exporters' repr, urllib3's debug lines, otel_aa_validate and
otel_aa_stats."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from django.core.management import call_command
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter, mask_url
from opentelemetry.exporter.google_analytics._secrets import scrub
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from otel_aa import _configurator as configurator
from otel_aa._ga_mapping import AAMapping
from privacy.conftest import SECRET, TOKENS

USER, PASSWORD, KEY = "zq7user", "zq7password", "zq7relaykey"
PLANTED = (USER, PASSWORD, KEY, SECRET)


def _with_credentials(endpoint: str) -> str:
    scheme, rest = endpoint.split("://", 1)
    return f"{scheme}://{USER}:{PASSWORD}@{rest}?key={KEY}&token={KEY}"


def _assert_masked(text: str) -> None:
    for planted in PLANTED:
        assert planted not in text, f"{planted!r} was printed"


@pytest.mark.parametrize(("url", "shown"), [
    ("https://u:p@relay.example:8443/mp/collect?key=k&measurement_id=G-1#frag",
     "https://***@relay.example:8443/mp/collect?key=***&measurement_id=G-1"),
    ("https://relay.example/mp/collect?api_secret=s&token=t", "https://relay.example/mp/collect?api_secret=***&token=***"),
    ("https://www.google-analytics.com/mp/collect", "https://www.google-analytics.com/mp/collect"),
    (("https://x",), "***"),
    (b"https://u:p@x", "***"),
])
def test_mask_url(url: Any, shown: str) -> None:
    assert mask_url(url) == shown


def test_scrub_masks_log_lines() -> None:
    line = (f'https://relay:443 "POST /mp/collect?measurement_id=G-1&api_secret={SECRET}&key={KEY} '
            'HTTP/1.1" 204')
    masked = scrub(line)
    _assert_masked(masked)
    assert "measurement_id=G-1" in masked
    _assert_masked(scrub(f"Starting new HTTPS connection https://{USER}:{PASSWORD}@relay.example/"))


def test_exporter_repr_and_debug_lines(ga: GACollector, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    ga.clear()
    exporter = GoogleAnalyticsSpanExporter(endpoint=_with_credentials(ga.endpoint), tokens=TOKENS,
                                           client_id="privacy-client", validate=False, timeout=5,
                                           mapping=AAMapping())
    _assert_masked(repr(exporter))
    provider = TracerProvider()
    provider.add_span_processor(configurator.export_span_processor(exporter))
    with provider.get_tracer("t").start_as_current_span(
            "GET x/", kind=SpanKind.SERVER,
            attributes={"http.method": "GET", "http.status_code": 200, "http.route": "x/",
                        "ga.page.content_type": "text/html"}):
        pass
    assert provider.force_flush(10_000)
    provider.shutdown()
    assert len(ga.events("page_view")) == 1  # it was sent, through the credentials
    assert any("POST /mp/collect" in r.getMessage() for r in caplog.records), "no urllib3 line to check"
    _assert_masked("\n".join(r.getMessage() for r in caplog.records))
    _assert_masked(caplog.text)


@pytest.mark.django_db
def test_otel_aa_validate_output(ga: GACollector, monkeypatch: pytest.MonkeyPatch,
                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OTEL_EXPORTER_GA_TOKENS", '[{"name": "v", "measurement_id": "G-VALID001", '
                                                  f'"api_secret": "{SECRET}"}}]')
    monkeypatch.setenv("OTEL_EXPORTER_GA_ENDPOINT", _with_credentials(ga.endpoint))
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("otel_aa_validate", stdout=out, stderr=err)
    except Exception as exc:  # a validation message makes it exit non-zero; the output is checked
        err.write(str(exc))
    assert "Validation server: " in out.getvalue()
    assert ga.debug_hits, "the command did not reach the validation server"
    _assert_masked(out.getvalue() + err.getvalue() + caplog.text)


@pytest.mark.django_db
def test_otel_aa_stats_output(ga: GACollector, monkeypatch: pytest.MonkeyPatch,
                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OTEL_EXPORTER_GA_TOKENS", '[{"name": "s", "measurement_id": "G-STATS001", '
                                                  f'"api_secret": "{SECRET}"}}]')
    monkeypatch.setenv("OTEL_EXPORTER_GA_ENDPOINT", _with_credentials("https://relay.invalid/mp/collect"))
    monkeypatch.setenv("OTEL_EXPORTER_GA_CLIENT_ID", "privacy-client")
    out = io.StringIO()
    call_command("otel_aa_stats", stdout=out)
    assert "POST https://***@relay.invalid/mp/collect?" in out.getvalue()
    _assert_masked(out.getvalue() + caplog.text)
