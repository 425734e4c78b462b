"""Django's settings as the exporter's host settings (``otel_aa._host_settings.django_setting``).

The exporter reads no framework: the distro hands it a lookup over Django's settings. Here: the
precedence over Django settings (argument > environment > Django setting > default, ``DEBUG`` as
the validate default), the configurator handing the lookup in, and settings that Django loads
after the exporter was built reaching it at ``AppConfig.ready`` (``reload_settings()``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter, load_tokens
from opentelemetry.exporter.google_analytics.testing import GACollector

from otel_aa._host_settings import django_setting

TESTS_DIR = Path(__file__).resolve().parent.parent
ROOT = TESTS_DIR.parent
MEASUREMENT_ID, SECRET = "G-SOURCE001", "source-canary-secret-8d1f"
OTHER_ID = "G-SOURCE002"
SHORT = {"OTEL_EXPORTER_GA_MEASUREMENT_ID": MEASUREMENT_ID, "OTEL_EXPORTER_GA_API_SECRET": SECRET}


@pytest.fixture(autouse=True)
def no_ga_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("OTEL_EXPORTER_GA_") or name == "ANALYTICS_DISABLED":
            monkeypatch.delenv(name)


def _transport(attribute: str) -> Any:
    def getter(exporter: GoogleAnalyticsSpanExporter) -> object:
        assert exporter._pipeline is not None
        return getattr(exporter._pipeline.transport, attribute)
    return getter


def _page_views(exporter: GoogleAnalyticsSpanExporter) -> object:
    return [t.page_views for t in exporter.tokens]


def _client_id(exporter: GoogleAnalyticsSpanExporter) -> object:
    assert exporter._pipeline is not None
    return exporter._pipeline.client_id()


def _disabled(exporter: GoogleAnalyticsSpanExporter) -> object:
    assert exporter.config is not None
    return exporter.config.disabled


EU = "https://region1.google-analytics.com/mp/collect"

# (id, constructor kwargs, env vars, Django settings, getter, expected)
PRECEDENCE = [
    ("timeout django", {}, {}, {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _transport("timeout"), 4.0),
    ("timeout env beats django", {}, {"OTEL_EXPORTER_GA_TIMEOUT": "3"}, {"OTEL_EXPORTER_GA_TIMEOUT": 4},
     _transport("timeout"), 3.0),
    ("timeout arg beats both", {"timeout": 2.0}, {"OTEL_EXPORTER_GA_TIMEOUT": "3"},
     {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _transport("timeout"), 2.0),
    ("bad env timeout falls through to django", {}, {"OTEL_EXPORTER_GA_TIMEOUT": "soon"},
     {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _transport("timeout"), 4.0),
    ("endpoint django", {}, {}, {"OTEL_EXPORTER_GA_ENDPOINT": EU}, _transport("endpoint"), EU),
    ("validate follows DEBUG", {}, {}, {"DEBUG": True}, _transport("validate"), True),
    ("validate off without DEBUG", {}, {}, {"DEBUG": False}, _transport("validate"), False),
    ("validate env beats DEBUG", {}, {"OTEL_EXPORTER_GA_VALIDATE": "false"}, {"DEBUG": True},
     _transport("validate"), False),
    ("validate django setting beats DEBUG", {}, {}, {"DEBUG": True, "OTEL_EXPORTER_GA_VALIDATE": False},
     _transport("validate"), False),
    ("page_views django", {}, {}, {"OTEL_EXPORTER_GA_PAGE_VIEWS": False}, _page_views, [False]),
    ("page_views env beats django", {}, {"OTEL_EXPORTER_GA_PAGE_VIEWS": "true"},
     {"OTEL_EXPORTER_GA_PAGE_VIEWS": False}, _page_views, [True]),
    ("client_id django", {}, {}, {"OTEL_EXPORTER_GA_CLIENT_ID": "django-id"}, _client_id, "django-id"),
    ("client_id env beats django", {}, {"OTEL_EXPORTER_GA_CLIENT_ID": "env-id"},
     {"OTEL_EXPORTER_GA_CLIENT_ID": "django-id"}, _client_id, "env-id"),
    ("analytics disabled django", {}, {}, {"ANALYTICS_DISABLED": True}, _disabled, True),
    ("analytics disabled unreadable django fails closed", {}, {}, {"ANALYTICS_DISABLED": "perhaps"},
     _disabled, True),
]


@pytest.mark.parametrize(("kwargs", "environ", "django", "getter", "expected"),
                         [row[1:] for row in PRECEDENCE], ids=[row[0] for row in PRECEDENCE])
def test_precedence_over_django_settings(monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any],
                                         environ: dict[str, str], django: dict[str, Any], getter: Any,
                                         expected: object) -> None:
    for name, value in {**SHORT, **environ}.items():
        monkeypatch.setenv(name, value)
    with override_settings(**django):
        exporter = GoogleAnalyticsSpanExporter(settings=django_setting, **kwargs)
        try:
            assert getter(exporter) == expected
        finally:
            exporter.shutdown()


def test_tokens_from_a_django_setting_as_a_list() -> None:
    listed = [{"name": "a", "measurement_id": MEASUREMENT_ID, "api_secret": SECRET},
              {"name": "b", "measurement_id": OTHER_ID, "api_secret": SECRET, "page_views": False}]
    with override_settings(OTEL_EXPORTER_GA_TOKENS=listed):
        tokens = load_tokens(settings=django_setting)
    assert [(t.measurement_id, t.page_views) for t in tokens] == [(MEASUREMENT_ID, True), (OTHER_ID, False)]
    assert load_tokens() == []  # without the lookup the exporter sees no Django setting


def test_the_configurator_hands_the_exporters_the_django_lookup() -> None:
    from opentelemetry.exporter.google_analytics import GoogleAnalyticsMetricReader

    from otel_aa import _configurator as configurator

    args = configurator.exporter_args_map()
    assert args[GoogleAnalyticsSpanExporter]["settings"] is django_setting
    assert args[GoogleAnalyticsMetricReader]["settings"] is django_setting


_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind
    from otel_aa._host_settings import django_setting

    endpoint, tokens = sys.argv[1], json.loads(sys.argv[2])
    # As under opentelemetry-instrument: the exporter exists before Django has loaded settings.py.
    exporter = GoogleAnalyticsSpanExporter(settings=django_setting)
    before = len(exporter.tokens)
    import django
    from django.conf import settings
    settings.configure(INSTALLED_APPS=["otel_aa"], OTEL_EXPORTER_GA_TOKENS=tokens,
                       OTEL_EXPORTER_GA_ENDPOINT=endpoint, OTEL_EXPORTER_GA_CLIENT_ID="late-id",
                       OTEL_EXPORTER_GA_VALIDATE=False)
    polled = len(exporter.tokens)  # nothing polls: still none until Django is ready
    django.setup()  # AppConfig.ready: reload_settings()
    after = len(exporter.tokens)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("GET /", kind=SpanKind.SERVER) as span:
        span.set_attributes({"http.request.method": "GET", "http.response.status_code": 200,
                             "http.route": "", "ga.page.content_type": "text/html"})
    provider.shutdown()
    print(json.dumps({"before": before, "polled": polled, "after": after}))
    """
)


def test_django_settings_loaded_after_the_exporter_was_built_arrive_at_ready(ga: GACollector) -> None:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "DJANGO_", "PYTEST_")) and k != "ANALYTICS_DISABLED"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    token = {"name": "late", "measurement_id": MEASUREMENT_ID, "api_secret": SECRET}
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, ga.endpoint, json.dumps([token])],
        capture_output=True, text=True, timeout=120, check=False, env=env, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts == {"before": 0, "polled": 0, "after": 1}
    assert ga.wait_for(lambda c: len(c.hits) >= 1, timeout=10)
    (hit,) = ga.hits
    assert hit.query["measurement_id"] == MEASUREMENT_ID
    assert hit.body["client_id"] == "late-id"
    assert SECRET not in result.stderr
