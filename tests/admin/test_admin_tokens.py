"""The admin's tokens as the exporters' token_source (otel_aa.admin_tokens), on the test project
without Alliance Auth (otel-aa's own GAToken rows), against a real loopback GA."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics.testing import GACollector

from otel_aa import admin_tokens
from otel_aa.admin_tokens import AdminTokens, announce_change

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "exporter"))
from ga_test_support import SpanFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ga() -> Any:
    with GACollector() as collector:
        yield collector


@pytest.fixture
def spans() -> Any:
    factory = SpanFactory()
    yield factory
    factory.provider.shutdown()


def _row(**fields: Any) -> Any:
    from otel_aa.models import GAToken

    values = {"name": "own", "measurement_id": "G-OWNTOKEN1", "api_secret": "own-secret-q7zx-0007",
              **fields}
    return GAToken.objects.create(**values)


def test_own_tokens_come_from_the_admin_rows() -> None:
    _row(page_views=False, ignore_paths="^/corp/\n\n^/<admin>/ ")
    (token,) = admin_tokens.read_tokens()
    assert (token.name, token.measurement_id, token.page_views, token.celery_events, token.daily_stats) \
        == ("own", "G-OWNTOKEN1", False, True, True)
    assert [p.pattern for p in token.ignore_paths] == ["^/corp/", "^/<admin>/"]


def test_reads_are_cached_and_a_change_announced_in_the_admin_is_read_at_the_next_call() -> None:
    row = _row()
    source = AdminTokens(max_age=3600)
    other_process = AdminTokens(max_age=3600)
    assert source()[0].page_views and other_process()[0].page_views
    assert source() and source.reads == 1  # cached: no second query

    row.page_views = False
    row.save()
    assert source()[0].page_views  # unannounced: the cached value, until max_age
    announce_change()  # what the admin's save does: a new generation in the shared cache
    assert not source()[0].page_views and not other_process()[0].page_views
    assert source.reads == 2


def test_the_cache_lasts_at_most_max_age() -> None:
    now = [1000.0]
    row = _row()
    source = AdminTokens(max_age=30, clock=lambda: now[0])
    assert source()[0].celery_events
    row.celery_events = False
    row.save()
    now[0] += 29
    assert source()[0].celery_events
    now[0] += 2
    assert not source()[0].celery_events


def test_a_bad_ignore_rule_turns_page_views_off() -> None:
    _row(ignore_paths="^/ok/\n(unclosed")
    (token,) = admin_tokens.read_tokens()
    assert not token.page_views and token.celery_events


def test_unreadable_tokens_send_nowhere(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> list[Any]:
        raise RuntimeError("database down")

    assert AdminTokens(read=broken)() == []
    assert "could not read the admin's analytics tokens (RuntimeError)" in caplog.text


def test_analytics_disabled_gives_no_admin_token(monkeypatch: pytest.MonkeyPatch) -> None:
    _row()
    monkeypatch.setenv("ANALYTICS_DISABLED", "true")
    assert AdminTokens()() == []


def test_a_switch_in_the_admin_changes_the_next_hits(ga: GACollector, spans: SpanFactory) -> None:
    row = _row(celery_events=False)
    source = AdminTokens(max_age=3600)
    exporter = GoogleAnalyticsSpanExporter(endpoint=ga.endpoint, validate=False, token_source=source)
    exporter.export([spans.page(), spans.task()])
    assert len(ga.events("page_view", "G-OWNTOKEN1")) == 1 and ga.events("celery_event") == []

    row.celery_events, row.page_views = True, False
    row.save()
    announce_change()
    exporter.export([spans.page(), spans.task()])
    assert len(ga.events("page_view")) == 1 and len(ga.events("celery_event", "G-OWNTOKEN1")) == 1
