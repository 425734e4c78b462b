"""Settings precedence (argument > env > host setting > default) and token loading.

"Host settings" are what the application hands in as ``settings=`` (a mapping or a lookup); the
exporter reads no framework's settings of its own (the Django side is tested in tests/distro).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from ga_test_support import MEASUREMENT_ID, OTHER_ID, OTHER_SECRET, SECRET, token
from opentelemetry.exporter.google_analytics import (
    GoogleAnalyticsMetricExporter,
    GoogleAnalyticsSpanExporter,
    load_tokens,
)
from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics.settings import host_setting, resolve, resolve_fail_closed
from opentelemetry.sdk.metrics.export import MetricsData


def _timeout(exporter: GoogleAnalyticsSpanExporter) -> object:
    assert exporter._pipeline is not None
    return exporter._pipeline.transport.timeout


def _endpoint(exporter: GoogleAnalyticsSpanExporter) -> object:
    assert exporter._pipeline is not None
    return exporter._pipeline.transport.endpoint


def _validate(exporter: GoogleAnalyticsSpanExporter) -> object:
    assert exporter._pipeline is not None
    return exporter._pipeline.transport.validate


def _page_views(exporter: GoogleAnalyticsSpanExporter) -> object:
    return [t.page_views for t in exporter.tokens]


def _client_id(exporter: GoogleAnalyticsSpanExporter) -> object:
    assert exporter._pipeline is not None
    return exporter._pipeline.client_id()


def _ids(exporter: GoogleAnalyticsSpanExporter) -> object:
    return [t.measurement_id for t in exporter.tokens]


def _stats_interval(exporter: GoogleAnalyticsMetricExporter) -> object:
    # The exporter's own lease follows it (at the next export; read here after one).
    exporter.export(MetricsData(resource_metrics=[]))
    return (exporter.stats_interval, exporter.lease.interval)  # type: ignore[attr-defined]


SHORT = {env.OTEL_EXPORTER_GA_MEASUREMENT_ID: MEASUREMENT_ID, env.OTEL_EXPORTER_GA_API_SECRET: SECRET}

# (id, constructor kwargs, env vars, host settings, getter, expected)
PRECEDENCE = [
    ("timeout default", {}, {}, {}, _timeout, env.DEFAULT_TIMEOUT),
    ("timeout setting", {}, {}, {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _timeout, 4.0),
    ("timeout env beats setting", {}, {"OTEL_EXPORTER_GA_TIMEOUT": "3"},
     {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _timeout, 3.0),
    ("timeout arg beats env", {"timeout": 2.0}, {"OTEL_EXPORTER_GA_TIMEOUT": "3"},
     {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _timeout, 2.0),
    ("bad env timeout falls through to the setting", {}, {"OTEL_EXPORTER_GA_TIMEOUT": "soon"},
     {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _timeout, 4.0),
    ("bad setting timeout falls through to the default", {}, {}, {"OTEL_EXPORTER_GA_TIMEOUT": "soon"},
     _timeout, env.DEFAULT_TIMEOUT),
    ("endpoint default", {}, {}, {}, _endpoint, env.DEFAULT_ENDPOINT),
    ("endpoint setting", {}, {}, {"OTEL_EXPORTER_GA_ENDPOINT": "https://region1.google-analytics.com/mp/collect"},
     _endpoint, "https://region1.google-analytics.com/mp/collect"),
    ("endpoint env", {}, {"OTEL_EXPORTER_GA_ENDPOINT": "http://127.0.0.1:9/mp/collect"},
     {"OTEL_EXPORTER_GA_ENDPOINT": "https://region1.google-analytics.com/mp/collect"},
     _endpoint, "http://127.0.0.1:9/mp/collect"),
    ("validate default", {}, {}, {}, _validate, False),
    ("validate setting", {}, {}, {"OTEL_EXPORTER_GA_VALIDATE": True}, _validate, True),
    ("validate env beats setting", {}, {"OTEL_EXPORTER_GA_VALIDATE": "false"},
     {"OTEL_EXPORTER_GA_VALIDATE": True}, _validate, False),
    ("validate arg", {"validate": True}, {"OTEL_EXPORTER_GA_VALIDATE": "false"}, {}, _validate, True),
    ("page_views default", {}, {}, {}, _page_views, [True]),
    ("page_views setting", {}, {}, {"OTEL_EXPORTER_GA_PAGE_VIEWS": False}, _page_views, [False]),
    ("page_views env beats setting", {}, {"OTEL_EXPORTER_GA_PAGE_VIEWS": "true"},
     {"OTEL_EXPORTER_GA_PAGE_VIEWS": False}, _page_views, [True]),
    ("page_views arg", {"page_views": False}, {"OTEL_EXPORTER_GA_PAGE_VIEWS": "true"}, {},
     _page_views, [False]),
    ("client_id setting", {}, {}, {"OTEL_EXPORTER_GA_CLIENT_ID": "host-id"}, _client_id, "host-id"),
    ("client_id env", {}, {"OTEL_EXPORTER_GA_CLIENT_ID": "env-id"},
     {"OTEL_EXPORTER_GA_CLIENT_ID": "host-id"}, _client_id, "env-id"),
    ("client_id callable arg", {"client_id": lambda: "called-id"}, {"OTEL_EXPORTER_GA_CLIENT_ID": "env-id"},
     {}, _client_id, "called-id"),
    ("tokens setting", {}, {}, {"OTEL_EXPORTER_GA_TOKENS": [token(OTHER_ID, OTHER_SECRET)]}, _ids,
     [OTHER_ID, MEASUREMENT_ID]),
    ("stats_interval setting", {}, {}, {"OTEL_EXPORTER_GA_STATS_INTERVAL": 60}, _stats_interval,
     (60.0, 60.0)),
    ("stats_interval env beats setting", {}, {"OTEL_EXPORTER_GA_STATS_INTERVAL": "30"},
     {"OTEL_EXPORTER_GA_STATS_INTERVAL": 60}, _stats_interval, (30.0, 30.0)),
    ("stats_interval arg", {"stats_interval": 5.0}, {"OTEL_EXPORTER_GA_STATS_INTERVAL": "30"}, {},
     _stats_interval, (5.0, 5.0)),
]


@pytest.mark.parametrize("host_form", ["mapping", "callable"])
@pytest.mark.parametrize(("kwargs", "environ", "host", "getter", "expected"),
                         [row[1:] for row in PRECEDENCE], ids=[row[0] for row in PRECEDENCE])
def test_precedence(monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any], environ: dict[str, str],
                    host: dict[str, Any], getter: Any, expected: object, host_form: str) -> None:
    for name, value in {**SHORT, **environ}.items():
        monkeypatch.setenv(name, value)
    settings = host if host_form == "mapping" else host.get
    # The stats interval is the metric exporter's; the rest is the same resolution for both.
    cls = GoogleAnalyticsMetricExporter if getter is _stats_interval else GoogleAnalyticsSpanExporter
    exporter = cls(settings=settings, **kwargs)
    try:
        assert getter(exporter) == expected
    finally:
        exporter.shutdown()


def test_without_host_settings_the_default_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_MEASUREMENT_ID, MEASUREMENT_ID)
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_API_SECRET, SECRET)
    exporter = GoogleAnalyticsSpanExporter()
    assert _validate(exporter) is False
    assert exporter._pipeline is not None and exporter._pipeline.client_id()  # a random UUIDv4
    exporter.shutdown()


def test_a_lookup_that_raises_counts_as_no_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    # A host whose settings are not loaded yet (Django raises ImproperlyConfigured) must not
    # break the exporter: the setting is absent, the next source decides.
    def not_loaded(name: str) -> Any:
        raise RuntimeError("settings are not configured")

    assert host_setting(not_loaded, env.OTEL_EXPORTER_GA_TIMEOUT) is None
    assert resolve(env.OTEL_EXPORTER_GA_TIMEOUT, None, 10.0, settings=not_loaded) == 10.0
    # Fail-closed resolution is unchanged by it: absent means the default, not the closed side.
    assert resolve_fail_closed(env.OTEL_EXPORTER_GA_DISABLED, None, False, bool, True, "x",
                               settings=not_loaded) is False
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_MEASUREMENT_ID, MEASUREMENT_ID)
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_API_SECRET, SECRET)
    exporter = GoogleAnalyticsSpanExporter(settings=not_loaded)
    try:
        assert [t.measurement_id for t in exporter.tokens] == [MEASUREMENT_ID]
    finally:
        exporter.shutdown()


def test_an_unreadable_host_switch_fails_closed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    exporter = GoogleAnalyticsSpanExporter(tokens=[token()], settings={"OTEL_EXPORTER_GA_DISABLED": "perhaps",
                                                                       "OTEL_EXPORTER_GA_PAGE_VIEWS": "2"})
    try:
        assert exporter.config is not None and exporter.config.disabled is True
        assert [t.page_views for t in exporter.tokens] == [False]
        named = [r.getMessage() for r in caplog.records]
        assert sum("the setting OTEL_EXPORTER_GA_DISABLED is invalid" in m for m in named) == 1, named
        assert sum("the setting OTEL_EXPORTER_GA_PAGE_VIEWS is invalid" in m for m in named) == 1, named
    finally:
        exporter.shutdown()


def test_tokens_from_a_host_setting_as_a_list() -> None:
    tokens_setting = [token(), token(OTHER_ID, OTHER_SECRET, page_views=False)]
    tokens = load_tokens(settings={"OTEL_EXPORTER_GA_TOKENS": tokens_setting})
    assert [(t.measurement_id, t.page_views) for t in tokens] == [(MEASUREMENT_ID, True), (OTHER_ID, False)]


def test_a_misspelt_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="timout"):
        GoogleAnalyticsSpanExporter(timout=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="stats_interval"):
        GoogleAnalyticsSpanExporter(stats_interval=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="endpoint"):
        load_tokens(endpoint="http://x/")  # type: ignore[call-arg]


def test_token_list_and_short_form_add_up_with_shared_ignore_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_TOKENS, json.dumps([token(OTHER_ID, OTHER_SECRET,
                                                                     ignore_paths=["^/own/"])]))
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_MEASUREMENT_ID, MEASUREMENT_ID)
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_API_SECRET, SECRET)
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_IGNORE_PATHS, "^/admin/, ^/api/")
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_CELERY_EVENTS, "false")
    tokens = load_tokens()
    assert [t.measurement_id for t in tokens] == [OTHER_ID, MEASUREMENT_ID]
    assert [p.pattern for p in tokens[0].ignore_paths] == ["^/own/", "^/admin/", "^/api/"]
    assert [p.pattern for p in tokens[1].ignore_paths] == ["^/admin/", "^/api/"]
    assert not any(t.celery_events for t in tokens)


BAD_TOKENS = [
    ("bad json", '[{"measurement_id": "G-AAAA1111", "api_secret": "' + SECRET + '"',
     "OTEL_EXPORTER_GA_TOKENS: token list is not valid JSON"),
    ("no secret", json.dumps([{"name": "nosecret", "measurement_id": "G-AAAA1111"}]),
     "token 'nosecret' has no api_secret"),
    ("not G-", json.dumps([{"name": "wrongid", "measurement_id": "X-1234", "api_secret": SECRET}]),
     "token 'wrongid' has measurement_id 'X-1234', which is not a GA4 measurement id (G-...)"),
    ("UA", json.dumps([{"name": "legacy", "measurement_id": "UA-12345-1", "api_secret": SECRET}]),
     "Universal Analytics stopped processing data in July 2023"),
    ("bad regex", json.dumps([{"name": "badre", "measurement_id": "G-AAAA1111", "api_secret": SECRET,
                               "ignore_paths": ["(unclosed"]}]),
     "token 'badre' has an invalid ignore_paths regex '(unclosed'"),
]


def test_bad_token_flag_turns_that_stream_off_and_keeps_the_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Fails closed (issue 10): an unreadable flag is off, not skipped with the whole token nor on.
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_TOKENS, json.dumps([{
        "name": "badflag", "measurement_id": "G-AAAA1111", "api_secret": SECRET, "page_views": "maybe"}]))
    caplog.set_level(logging.DEBUG)
    exporter = GoogleAnalyticsSpanExporter()
    try:
        (token,) = exporter.tokens
        assert (token.page_views, token.celery_events, token.daily_stats) == (False, True, True)
        matching = [r for r in caplog.records
                    if "token 'badflag' has a page_views flag that is not true or false" in r.getMessage()]
        assert len(matching) == 1 and matching[0].levelno == logging.ERROR
        assert all(SECRET not in r.getMessage() for r in caplog.records)
    finally:
        exporter.shutdown()


@pytest.mark.parametrize(("raw", "expected"), [row[1:] for row in BAD_TOKENS],
                         ids=[row[0] for row in BAD_TOKENS])
def test_bad_token_reported_once_masked_and_skipped(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, raw: str, expected: str
) -> None:
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_TOKENS, raw)
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_MEASUREMENT_ID, OTHER_ID)
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_API_SECRET, OTHER_SECRET)
    caplog.set_level(logging.DEBUG)
    first = GoogleAnalyticsSpanExporter()
    second = GoogleAnalyticsMetricExporter()  # built again: the message is not repeated
    try:
        # The good short-form token still runs.
        assert [t.measurement_id for t in first.tokens] == [OTHER_ID]
        assert [t.measurement_id for t in second.tokens] == [OTHER_ID]
        matching = [r for r in caplog.records if expected in r.getMessage()]
        assert len(matching) == 1, [r.getMessage() for r in caplog.records]
        assert matching[0].levelno == logging.ERROR
        assert "OTEL_EXPORTER_GA_TOKENS" in matching[0].getMessage()
        for record in caplog.records:
            assert SECRET not in record.getMessage()
            assert OTHER_SECRET not in record.getMessage()
    finally:
        first.shutdown()
        second.shutdown()


def test_missing_short_form_secret_is_reported_masked(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_MEASUREMENT_ID, MEASUREMENT_ID)
    caplog.set_level(logging.ERROR)
    assert load_tokens() == []
    (record,) = caplog.records
    assert "OTEL_EXPORTER_GA_MEASUREMENT_ID/OTEL_EXPORTER_GA_API_SECRET" in record.getMessage()
    assert "has no api_secret (got ***)" in record.getMessage()


def test_token_repr_masks_the_secret() -> None:
    (tok,) = load_tokens([token()])
    assert SECRET not in repr(tok)
    assert "s3…(30 chars)" in repr(tok)
    assert SECRET not in str(tok)


def test_bad_shared_ignore_path_turns_page_views_off_for_all(monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_IGNORE_PATHS, "^/ok/,(broken")
    caplog.set_level(logging.ERROR)
    assert load_tokens([token()]) == []
    assert "OTEL_EXPORTER_GA_IGNORE_PATHS" in caplog.text
