"""Settings precedence (argument > env > Django setting > default) and token loading."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from ga_test_support import MEASUREMENT_ID, OTHER_ID, OTHER_SECRET, SECRET, token
from opentelemetry.exporter.google_analytics import (
    GoogleAnalyticsMetricExporter,
    GoogleAnalyticsSpanExporter,
    load_tokens,
)
from opentelemetry.exporter.google_analytics import environment_variables as env


@pytest.fixture
def django_settings() -> Iterator[Any]:
    """Django settings for this test; left as found (configured or not) afterwards."""
    from django.conf import UserSettingsHolder, global_settings, settings
    from django.utils.functional import empty

    configured_here = not settings.configured
    if configured_here:
        # What settings.configure() does, undone at the end so no other test inherits it.
        settings._wrapped = UserSettingsHolder(global_settings)
    try:
        yield settings
    finally:
        if configured_here:
            settings._wrapped = empty


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


SHORT = {env.OTEL_EXPORTER_GA_MEASUREMENT_ID: MEASUREMENT_ID, env.OTEL_EXPORTER_GA_API_SECRET: SECRET}

# (id, constructor kwargs, env vars, Django settings, getter, expected)
PRECEDENCE = [
    ("timeout default", {}, {}, {}, _timeout, env.DEFAULT_TIMEOUT),
    ("timeout django", {}, {}, {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _timeout, 4.0),
    ("timeout env beats django", {}, {"OTEL_EXPORTER_GA_TIMEOUT": "3"},
     {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _timeout, 3.0),
    ("timeout arg beats env", {"timeout": 2.0}, {"OTEL_EXPORTER_GA_TIMEOUT": "3"},
     {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _timeout, 2.0),
    ("bad env timeout falls through to django", {}, {"OTEL_EXPORTER_GA_TIMEOUT": "soon"},
     {"OTEL_EXPORTER_GA_TIMEOUT": 4}, _timeout, 4.0),
    ("endpoint default", {}, {}, {}, _endpoint, env.DEFAULT_ENDPOINT),
    ("endpoint django", {}, {}, {"OTEL_EXPORTER_GA_ENDPOINT": "https://region1.google-analytics.com/mp/collect"},
     _endpoint, "https://region1.google-analytics.com/mp/collect"),
    ("endpoint env", {}, {"OTEL_EXPORTER_GA_ENDPOINT": "http://127.0.0.1:9/mp/collect"},
     {"OTEL_EXPORTER_GA_ENDPOINT": "https://region1.google-analytics.com/mp/collect"},
     _endpoint, "http://127.0.0.1:9/mp/collect"),
    ("validate follows DEBUG", {}, {}, {"DEBUG": True}, _validate, True),
    ("validate off without DEBUG", {}, {}, {"DEBUG": False}, _validate, False),
    ("validate env beats DEBUG", {}, {"OTEL_EXPORTER_GA_VALIDATE": "false"}, {"DEBUG": True},
     _validate, False),
    ("validate django setting beats DEBUG", {}, {}, {"DEBUG": True, "OTEL_EXPORTER_GA_VALIDATE": False},
     _validate, False),
    ("validate arg", {"validate": True}, {"OTEL_EXPORTER_GA_VALIDATE": "false"}, {}, _validate, True),
    ("page_views default", {}, {}, {}, _page_views, [True]),
    ("page_views django", {}, {}, {"OTEL_EXPORTER_GA_PAGE_VIEWS": False}, _page_views, [False]),
    ("page_views env beats django", {}, {"OTEL_EXPORTER_GA_PAGE_VIEWS": "true"},
     {"OTEL_EXPORTER_GA_PAGE_VIEWS": False}, _page_views, [True]),
    ("page_views arg", {"page_views": False}, {"OTEL_EXPORTER_GA_PAGE_VIEWS": "true"}, {},
     _page_views, [False]),
    ("client_id django", {}, {}, {"OTEL_EXPORTER_GA_CLIENT_ID": "django-id"}, _client_id, "django-id"),
    ("client_id env", {}, {"OTEL_EXPORTER_GA_CLIENT_ID": "env-id"},
     {"OTEL_EXPORTER_GA_CLIENT_ID": "django-id"}, _client_id, "env-id"),
    ("client_id callable arg", {"client_id": lambda: "called-id"}, {"OTEL_EXPORTER_GA_CLIENT_ID": "env-id"},
     {}, _client_id, "called-id"),
]


@pytest.mark.parametrize(("kwargs", "environ", "django", "getter", "expected"),
                         [row[1:] for row in PRECEDENCE], ids=[row[0] for row in PRECEDENCE])
def test_precedence(django_settings: Any, monkeypatch: pytest.MonkeyPatch, kwargs: dict[str, Any],
                    environ: dict[str, str], django: dict[str, Any], getter: Any, expected: object) -> None:
    from django.test import override_settings

    for name, value in {**SHORT, **environ}.items():
        monkeypatch.setenv(name, value)
    with override_settings(**django):
        exporter = GoogleAnalyticsSpanExporter(**kwargs)
        try:
            assert getter(exporter) == expected
        finally:
            exporter.shutdown()


def test_without_django_settings_the_default_applies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_MEASUREMENT_ID, MEASUREMENT_ID)
    monkeypatch.setenv(env.OTEL_EXPORTER_GA_API_SECRET, SECRET)
    exporter = GoogleAnalyticsSpanExporter()
    assert _validate(exporter) is False
    assert exporter._pipeline is not None and exporter._pipeline.client_id()  # a random UUIDv4
    exporter.shutdown()


def test_tokens_from_django_setting_as_a_list(django_settings: Any) -> None:
    from django.test import override_settings

    tokens_setting = [token(), token(OTHER_ID, OTHER_SECRET, page_views=False)]
    with override_settings(OTEL_EXPORTER_GA_TOKENS=tokens_setting):
        tokens = load_tokens()
    assert [(t.measurement_id, t.page_views) for t in tokens] == [(MEASUREMENT_ID, True), (OTHER_ID, False)]


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
