"""Property: whatever a response, its title, the request's headers, query string and user hold,
and whatever an exception class or task name is called, a planted canary reaches neither a GA
payload nor an otel-aa log line. Hypothesis generates them; the canary is unique per example
(so no k visitors ever share it), planted as is, upper-cased, title-cased and full-width.

Under both HTTP semantic-convention modes and both page-title modes (``html`` with k = 3).
"""

from __future__ import annotations

import itertools
import logging
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace import TracerProvider

from otel_aa import _celery_hooks as celery_hooks
from otel_aa import _config as config
from otel_aa import _configurator as configurator
from otel_aa._ga_mapping import AAMapping
from privacy import views
from privacy.conftest import TOKENS, Pipeline

pytestmark = [pytest.mark.timeout(600), pytest.mark.django_db]

_COUNTER = itertools.count()
_LAYOUTS = ("head", "svg", "comment", "fragment", "body", "template", "script", "no-title")
_FILLER = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40)
_SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _canary() -> str:
    return f"qx{next(_COUNTER)}canary"


def _variant(canary: str, how: int) -> str:
    if how == 1:
        return canary.upper()
    if how == 2:
        return canary.title()
    if how == 3:
        return "".join(chr(ord(c) + 0xFEE0) for c in canary)  # full-width
    return canary


def _leaked(canary: str, text: str) -> bool:
    # Folded and NFKC-normalised: a full-width or upper-cased canary is the canary too.
    return canary in unicodedata.normalize("NFKC", text).casefold()


def _plant(draw: st.DrawFn, canary: str) -> str:
    before, after = draw(_FILLER), draw(_FILLER)
    return before + _variant(canary, draw(st.integers(0, 3))) + after


def _html(layout: str, title: str, filler: str) -> str:
    return {
        "head": f"<!DOCTYPE html><html><head><title>{title}</title></head><body>{filler}</body></html>",
        "svg": f"<html><body><svg><title>{title}</title></svg>{filler}</body></html>",
        "comment": f"<html><head><!-- <title>{title}</title> --></head><body>{filler}</body></html>",
        "fragment": f"<div>{filler}<title>{title}</title></div>",
        "body": f"<html><body><title>{title}</title>{filler}</body></html>",
        "template": f"<html><head><template><title>{title}</title></template></head></html>",
        "script": f"<html><head><script>var t='<title>{title}</title>'</script></head></html>",
        "no-title": f"<html><head></head><body>{title} {filler}</body></html>",
    }[layout]


@st.composite
def _requests(draw: st.DrawFn) -> dict[str, Any]:
    canary = _canary()
    layout = draw(st.sampled_from(_LAYOUTS))
    charset = draw(st.sampled_from(["utf-8", "latin-1", "utf-16", "x-unknown"]))
    text = _html(layout, _plant(draw, canary), _plant(draw, canary))
    body = text.encode(charset if charset != "x-unknown" else "utf-8", errors="replace")
    lang_prefix = draw(st.sampled_from(["", "de;q=0.2,", "en-US,", "*,"]))
    lang = lang_prefix + _variant(canary, draw(st.integers(0, 3)))
    return {
        "canary": canary,
        "body": body,
        "content_type": f"text/html; charset={charset}",
        "query": {_plant(draw, canary)[:20] or "q": _plant(draw, canary)},
        "headers": {
            "HTTP_REFERER": "https://x.example/" + _plant(draw, canary),
            "HTTP_USER_AGENT": _plant(draw, canary),
            "HTTP_ACCEPT_LANGUAGE": lang,
            "HTTP_X_FORWARDED_FOR": "203.0.113.7, " + canary,
            "HTTP_COOKIE": f"nickname={canary}; sessionid={canary}",
            "HTTP_X_TEST_USER": _plant(draw, canary)[:150] or canary,
            "HTTP_X_TEST_EMAIL": f"{canary}@localhost",
        },
        "visitors": draw(st.integers(1, 2)),
    }


@pytest.fixture(params=["view_name", "html"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OTEL_AA_PAGE_TITLE", request.param)
    monkeypatch.setenv("OTEL_AA_PAGE_TITLE_K", "3")
    config.reload()
    return str(request.param)


def _otel_aa_lines(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records
                     if r.name.startswith(("otel_aa", "opentelemetry.exporter.google_analytics", "urllib3")))


@override_settings(ROOT_URLCONF="privacy.urls")
def test_no_canary_from_a_request_or_response(
    pipeline: Pipeline, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    @_SETTINGS
    @given(_requests())
    def check(spec: dict[str, Any]) -> None:
        pipeline.ga.clear()
        caplog.clear()
        views.NEXT.append((spec["body"], spec["content_type"]))
        for visitor in range(spec["visitors"]):
            headers = {**spec["headers"], "REMOTE_ADDR": f"192.0.2.{visitor + 1}"}
            response = Client().get("/echo/", spec["query"], **headers)
            assert response.status_code == 200
        sent = pipeline.page_views()
        assert len(sent) == spec["visitors"]
        raw = "".join(hit.raw.decode("utf-8", "replace") for hit in pipeline.ga.requests)
        assert not _leaked(spec["canary"], raw), raw
        assert not _leaked(spec["canary"], _otel_aa_lines(caplog))
        assert {hit["page_title"] for hit in sent} == {"echo"}

    check()


# --- Celery: exception classes and task names ------------------------------------------------


@pytest.fixture(scope="module")
def celery_app(ga: GACollector) -> Iterator[tuple[Celery, TracerProvider]]:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    exporter = GoogleAnalyticsSpanExporter(endpoint=ga.endpoint, tokens=TOKENS, client_id="privacy-client",
                                           validate=False, timeout=5, mapping=AAMapping())
    provider = TracerProvider(sampler=configurator._sampler())
    provider.add_span_processor(configurator.export_span_processor(exporter))
    instrumentor = CeleryInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    assert celery_hooks.connect_celery_signals()
    app = Celery("privacy", broker="memory://", backend="cache+memory://", set_as_current=False)
    app.conf.task_store_eager_result = False
    try:
        yield app, provider
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


_NOT_IDENTIFIER = st.sampled_from([" ", "-", "@", "/", "é", "名", ":", "!", "\u202e", ".."])


@st.composite
def _tasks(draw: st.DrawFn) -> dict[str, Any]:
    canary = _canary()
    # A task name with the canary and something no Python identifier holds: not code.
    name = draw(st.sampled_from(["app.tasks.", "", "x."])) + _plant(draw, canary) + draw(_NOT_IDENTIFIER) + \
        draw(st.sampled_from(["", ".tasks.t", "t"]))
    # An exception class made at run time, named after the canary (valid identifier or not).
    class_name = draw(st.sampled_from([canary, canary.upper(), f"{canary} Error", f"E{canary}-x"]))
    failing = draw(st.booleans())
    value = draw(st.one_of(st.integers(), st.text(max_size=5).map(lambda t: canary + t), st.none()))
    return {"canary": canary, "name": name, "class_name": class_name, "failing": failing, "value": value,
            "message": _plant(draw, canary)}


def test_no_canary_from_a_task(
    celery_app: tuple[Celery, TracerProvider], ga: GACollector, caplog: pytest.LogCaptureFixture
) -> None:
    app, provider = celery_app
    caplog.set_level(logging.DEBUG)

    @_SETTINGS
    @given(_tasks())
    def check(spec: dict[str, Any]) -> None:
        ga.clear()
        caplog.clear()
        made = type(spec["class_name"], (Exception,), {})

        def run() -> Any:
            if spec["failing"]:
                raise made(spec["message"])
            return spec["value"]

        task = app.task(name=spec["name"], shared=False)(run)
        result = task.apply()
        assert result.failed() is spec["failing"]
        assert provider.force_flush(10_000)
        (event,) = ga.events("celery_event", TOKENS[0]["measurement_id"])
        params = event["params"]
        assert params["result"] == ("Error" if spec["failing"] else "Success")
        assert params["namespace"] == params["task"] == "other"
        value = spec["value"]
        if not spec["failing"] and isinstance(value, int) and -(2**63) <= value < 2**63:
            assert params["value"] == value
        else:
            assert params["value"] == 1
        raw = "".join(hit.raw.decode("utf-8", "replace") for hit in ga.requests)
        assert not _leaked(spec["canary"], raw), raw
        assert not _leaked(spec["canary"], _otel_aa_lines(caplog))

    check()
