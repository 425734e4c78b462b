"""The admin's tokens as the exporters' token_source (otel_aa._admin_tokens), on the test project
without Alliance Auth (otel-aa's own GAToken rows), against a real loopback GA."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics.testing import GACollector

from otel_aa import _admin_tokens as admin_tokens
from otel_aa import _config as config
from otel_aa._admin_tokens import AdminTokens, announce_change
from otel_aa._ga_mapping import AAMapping

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "exporters" / "google-analytics" / "tests"))
from ga_test_support import SpanFactory

pytestmark = pytest.mark.django_db


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


def test_an_admin_row_is_checked_as_a_configured_token_is(caplog: pytest.LogCaptureFixture) -> None:
    # A row saved before the form's checks (or written by hand) must not become a destination.
    _row(name="bad", measurement_id="UA-1234-1", api_secret="ua-secret-q7zx-0008")
    _row(name="swapped", measurement_id="swap-secret-q7zx-0009", api_secret="G-SWAPPED01")
    _row()
    assert [t.name for t in admin_tokens.read_tokens()] == ["own"]
    assert "Universal Analytics" in caplog.text and "swapped" in caplog.text
    assert "ua-secret-q7zx-0008" not in caplog.text and "swap-secret-q7zx-0009" not in caplog.text


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
    config.reload()  # settings are resolved once: a change is seen at the reload (AppConfig.ready)
    assert AdminTokens()() == []


def test_a_switch_in_the_admin_changes_the_next_hits(ga: GACollector, spans: SpanFactory) -> None:
    row = _row(celery_events=False)
    source = AdminTokens(max_age=3600)
    exporter = GoogleAnalyticsSpanExporter(endpoint=ga.endpoint, validate=False, token_source=source,
                                           mapping=AAMapping())
    exporter.export([spans.page(), spans.task()])
    assert len(ga.events("page_view", "G-OWNTOKEN1")) == 1 and ga.events("celery_event") == []

    row.celery_events, row.page_views = True, False
    row.save()
    announce_change()
    exporter.export([spans.page(), spans.task()])
    assert len(ga.events("page_view")) == 1 and len(ga.events("celery_event", "G-OWNTOKEN1")) == 1
