"""The admin's switch for aggregated task events (``aggregate_celery_events``, issue 13): shown and
saved by both admins (AA's ``AnalyticsTokens`` page, otel-aa's own ``GAToken``), read into the
admin's tokens, and followed end to end: a token with it on gets task counts and no per-run task
events at a loopback GA, one with it off keeps its per-run events. A stored value that isn't a
boolean fails closed, and migration 0003 applies and reverses.

The admin pages run with Django's test client in a subprocess on ``_site.settings_admin`` (with
and without Alliance Auth), as in test_admin_pages; the pipeline tests run here, on the real
exporters and a real ``GACollector``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.google_analytics import (
    GoogleAnalyticsMetricExporter,
    GoogleAnalyticsMetricReader,
    GoogleAnalyticsSpanExporter,
    InProcessLease,
)
from opentelemetry.exporter.google_analytics._counts import AGGREGATE_PARAM
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.metrics import MeterProvider

from otel_aa import _admin_tokens as admin_tokens
from otel_aa import names
from otel_aa._admin_tokens import AdminTokens, announce_change
from otel_aa._ga_mapping import AAMapping

from .conftest import ROOT, site_env

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "exporters" / "google-analytics" / "tests"))
from ga_test_support import SpanFactory

COUNTS, PER_RUN = "G-COUNTS0001", "G-PERRUN0001"


def _row(**fields: Any) -> Any:
    from otel_aa.models import GAToken

    values = {"name": "own", "measurement_id": COUNTS, "api_secret": "own-secret-q7zx-0011", **fields}
    return GAToken.objects.create(**values)


def _tasks(ga: GACollector, measurement_id: str) -> list[dict[str, Any]]:
    return [e["params"] for e in ga.events("celery_event", measurement_id)
            if e["params"].get("namespace") == "app"]


class _Pipeline:
    """Both GA exporters on one token source, as otel-aa's configurator builds them."""

    def __init__(self, ga: GACollector, source: AdminTokens) -> None:
        common: dict[str, Any] = {"endpoint": ga.endpoint, "validate": False, "client_id": "c",
                                  "token_source": source, "mapping": AAMapping()}
        self.spans = GoogleAnalyticsSpanExporter(**common)
        self.reader = GoogleAnalyticsMetricReader(
            GoogleAnalyticsMetricExporter(**common, lease=InProcessLease(3600)),
            export_interval_millis=3_600_000)
        self.provider = MeterProvider(metric_readers=[self.reader])
        self.runs = self.provider.get_meter("t").create_counter(names.METRIC_TASK_RUNS)

    def count(self, task: str, result: str, n: int) -> None:
        self.runs.add(n, {names.ATTR_TASK_NAMESPACE: "app", names.ATTR_TASK_NAME: task,
                          names.ATTR_TASK_RESULT: result})


@pytest.mark.django_db
def test_an_admin_token_with_the_switch_on_gets_counts_and_one_with_it_off_per_run_events(
        ga: GACollector, spans: SpanFactory) -> None:
    # No daily stats: the reader then collects only while a token takes counts.
    counting = _row(name="counts", aggregate_celery_events=True, daily_stats=False)
    _row(name="per-run", measurement_id=PER_RUN, daily_stats=False)
    source = AdminTokens(max_age=3600)
    pipeline = _Pipeline(ga, source)
    try:
        assert {t.measurement_id: t.aggregate_celery_events for t in source()} == {COUNTS: True,
                                                                                     PER_RUN: False}
        pipeline.spans.export([spans.page(), spans.task("app.tasks.sync"), spans.task("app.tasks.sync"),
                               spans.task("app.tasks.sync", error=ValueError("boom"))])
        per_run = _tasks(ga, PER_RUN)
        assert Counter((p["task"], p["result"]) for p in per_run) == {("sync", "Success"): 2,
                                                                       ("sync", "ValueError"): 1}
        assert all(AGGREGATE_PARAM not in p for p in per_run)
        assert _tasks(ga, COUNTS) == []  # no per-run task events for the counting token...
        assert len(ga.events("page_view", COUNTS)) == 1  # ...whose other streams are as they were

        # The reader sees that an admin token takes counts: the Celery hooks then count runs.
        pipeline.count("sync", "Success", 40)
        pipeline.count("sync", "ValueError", 3)
        assert pipeline.reader.collect_if_due() and pipeline.reader.counts_wanted
        counted = _tasks(ga, COUNTS)
        assert sorted((p["task"], p["result"], p["value"]) for p in counted) == [
            ("sync", "Success", 40), ("sync", "ValueError", 3)]
        assert all(p[AGGREGATE_PARAM] >= 1 and p["label"] == "sync" for p in counted)
        assert len(_tasks(ga, PER_RUN)) == 3  # the counts went to the counting token only

        # Switched off in the admin: per-run events again at the next export, no more counts.
        counting.aggregate_celery_events = False
        counting.save()
        announce_change()
        pipeline.spans.export([spans.task("app.tasks.sync")])
        assert [(p["task"], p["result"]) for p in _tasks(ga, COUNTS)][2:] == [("sync", "Success")]
        assert all(AGGREGATE_PARAM not in p for p in _tasks(ga, COUNTS)[2:])
        pipeline.count("sync", "Success", 5)
        assert not pipeline.reader.collect_if_due()  # no token takes counts: nothing collected
        assert not pipeline.reader.counts_wanted
        assert len(_tasks(ga, COUNTS)) == 3 and len(_tasks(ga, PER_RUN)) == 4
        assert ga.invalid == []
    finally:
        pipeline.provider.shutdown()
        pipeline.spans.shutdown()


@pytest.mark.django_db
def test_a_stored_switch_that_is_not_a_boolean_fails_closed(caplog: pytest.LogCaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from otel_aa.models import GAToken

    # A tinyint written past the form (by hand, another tool): MySQL's backend hands a 2 back as
    # it is (SQLite's driver reads anything but 1 as False, so the row is made as MySQL reads it).
    row = GAToken(pk=7, name="own", measurement_id=COUNTS, api_secret="own-secret-q7zx-0011",
                  aggregate_celery_events=2, page_views=2)
    monkeypatch.setattr(GAToken.objects, "order_by", lambda *fields: [row])
    (token,) = admin_tokens.read_tokens()
    # Counts send less than an event per run; a stream flag that can't be read is off.
    assert (token.aggregate_celery_events, token.celery_events, token.page_views) == (True, True, False)
    assert "aggregate_celery_events flag that is not true or false" in caplog.text
    assert "page_views flag that is not true or false" in caplog.text
    assert "own-secret-q7zx-0011" not in caplog.text


# --- the admin pages, in a subprocess --------------------------------------------------------------

_COMMON = r"""
import json, re, sys
import django
django.setup()
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
from otel_aa import _admin_tokens as admin_tokens
out = {}
c = Client()
c.force_login(User.objects.create_superuser("boss", "b@example.invalid", "x"))
def text(response):
    return response.content.decode()
def box(page, name):
    tag = re.search(r'<input[^>]*name="%s"[^>]*>' % name, page)
    return None if tag is None else "checked" in tag.group(0)
def tokens():
    admin_tokens.invalidate()
    return {t.measurement_id: [t.celery_events, t.aggregate_celery_events]
            for t in admin_tokens.read_tokens()}
"""

WITH_AA = _COMMON + r"""
from allianceauth.analytics.models import AnalyticsTokens
from otel_aa.models import AATokenSwitches
own = AnalyticsTokens.objects.create(name="ours", type="GA-V4", token="G-OURS0005",
                                     secret="ours-secret-q7zx-05")
url = f"/admin/analytics/analyticstokens/{own.pk}/change/"
page = text(c.get(url))
at = lambda name: page.find(f'name="{name}"')
out["page"] = {"box": box(page, "otel_aa_aggregate_celery_events"),
               "label": "Celery events as counts" in page,
               "help": "one event per task and result every interval" in page
                       and "instead of one event per run" in page,
               "beside_celery_events": 0 < at("otel_celery_events") < at("otel_aa_aggregate_celery_events")
                                       < at("otel_ignore_paths")}
form = {"name": own.name, "type": "GA-V4", "token": own.token, "secret": "", "send_stats": "on",
        "otel_celery_events": "on", "otel_aa_aggregate_celery_events": "on", "otel_ignore_paths": ""}
saved = c.post(url, form)
switch = AATokenSwitches.objects.get(aa_token_id=own.pk)
out["on"] = [saved.status_code, switch.celery_events, switch.aggregate_celery_events,
             tokens()["G-OURS0005"], box(text(c.get(url)), "otel_aa_aggregate_celery_events")]
def listed():
    # AA's token list: the switch's column, and this token's cell in it (Django's boolean icon).
    page = text(c.get("/admin/analytics/analyticstokens/"))
    row = next((r for r in page.split("<tr")[1:] if "G-OURS0005" in r or f"/{own.pk}/change/" in r), "")
    cell = re.search(r'<td class="field-otel_aggregate_celery_events">(.*?)</td>', row, re.S)
    return ["Celery events as counts" in page, None if cell is None else 'alt="True"' in cell.group(1)]
out["list_on"] = listed()
del form["otel_aa_aggregate_celery_events"]
c.post(url, form)
switch.refresh_from_db()
out["off"] = [switch.aggregate_celery_events, tokens()["G-OURS0005"],
              box(text(c.get(url)), "otel_aa_aggregate_celery_events")]
out["list_off"] = listed()
out["team_untouched"] = tokens()["G-6LYSMYK8DE"]  # no switches row: no Celery events at all
# A tinyint written past the form, as MySQL's backend hands it back (2: not a boolean).
def stored(**flags):
    AATokenSwitches.objects.filter = lambda **kw: [AATokenSwitches(aa_token_id=own.pk, **flags)]
    try:
        return tokens()["G-OURS0005"]
    finally:
        del AATokenSwitches.objects.filter
out["unreadable"] = stored(celery_events=True, aggregate_celery_events=2)
out["unreadable_stream"] = stored(celery_events=2, aggregate_celery_events=True)

# End to end: the saved switch, through the process's token source, to a loopback GA.
form["otel_aa_aggregate_celery_events"] = "on"
c.post(url, form)
sys.path.insert(0, "exporters/google-analytics/tests")
from ga_test_support import SpanFactory
from opentelemetry import metrics
from opentelemetry.exporter.google_analytics import (GoogleAnalyticsMetricExporter,
    GoogleAnalyticsMetricReader, GoogleAnalyticsSpanExporter, InProcessLease)
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.metrics import MeterProvider
from otel_aa._ga_mapping import AAMapping
from otel_aa._task_counts import count_run
with GACollector() as ga:
    common = {"endpoint": ga.endpoint, "validate": False, "client_id": "c",
              "token_source": admin_tokens.token_source, "mapping": AAMapping()}
    spans = SpanFactory()
    GoogleAnalyticsSpanExporter(**common).export([spans.task("app.tasks.sync")])
    reader = GoogleAnalyticsMetricReader(GoogleAnalyticsMetricExporter(**common, lease=InProcessLease(3600)),
                                         export_interval_millis=3_600_000)
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    reader.collect_if_due()  # the reader's look at the tokens: one takes counts
    for _ in range(7):
        count_run("app.tasks.sync", "Success")  # what otel-aa's Celery hooks call per run
    reader.collect_if_due()
    out["sent"] = [[e["params"]["task"], e["params"]["value"], "aggregate" in e["params"]]
                   for e in ga.events("celery_event", "G-OURS0005")]
    out["invalid"] = len(ga.invalid)
print("RESULT " + json.dumps(out))
"""

WITHOUT_AA = _COMMON + r"""
from otel_aa.models import GAToken
add = text(c.get("/admin/otel_aa/gatoken/add/"))
out["add_page"] = {"box": box(add, "aggregate_celery_events"), "label": "Celery events as counts" in add,
                   "help": "one event per task and result every interval" in add}
form = {"name": "own", "measurement_id": "G-OWN00012", "api_secret": "own-secret-q7zx-0012",
        "celery_events": "on", "aggregate_celery_events": "on"}
added = c.post("/admin/otel_aa/gatoken/add/", form)
row = GAToken.objects.get()
change = f"/admin/otel_aa/gatoken/{row.pk}/change/"
out["added"] = [added.status_code, row.aggregate_celery_events, tokens()["G-OWN00012"],
                box(text(c.get(change)), "aggregate_celery_events")]
listing = text(c.get("/admin/otel_aa/gatoken/"))
out["listed"] = "column-aggregate_celery_events" in listing
del form["aggregate_celery_events"]
form["api_secret"] = ""  # blank keeps the saved secret
edited = c.post(change, form)
row.refresh_from_db()
out["edited"] = [edited.status_code, row.aggregate_celery_events, tokens()["G-OWN00012"],
                 box(text(c.get(change)), "aggregate_celery_events")]
print("RESULT " + json.dumps(out))
"""

MIGRATIONS = r"""
import json
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.contrib.auth.models import User
out = {}
def columns():
    with connection.cursor() as cursor:
        return ["aggregate_celery_events" in {c.name for c in connection.introspection.get_table_description(
            cursor, table)} for table in ("otel_aa_gatoken", "otel_aa_aatokenswitches")]
call_command("makemigrations", "otel_aa", "--check", "--dry-run", verbosity=0)  # exits if one is missing
call_command("migrate", verbosity=0)
out["applied"] = columns()
call_command("migrate", "otel_aa", "0002", verbosity=0)
out["reversed"] = columns()
with connection.cursor() as cursor:  # rows of an install that ran 0002
    cursor.execute("INSERT INTO otel_aa_gatoken (name, measurement_id, api_secret, page_views, "
                   "celery_events, daily_stats, ignore_paths) VALUES ('old', 'G-OLD00013', "
                   "'old-secret-q7zx-0013', 1, 1, 0, '^/corp/')")
    cursor.execute("INSERT INTO otel_aa_aatokenswitches (aa_token_id, page_views, celery_events, "
                   "ignore_paths, updated) VALUES (1, 1, 1, '', '2026-01-01 00:00:00')")
# AA's token page before 0003: AA's own form, no otel-aa switches, still saves
from allianceauth.analytics.models import AnalyticsTokens
c = Client()
c.force_login(User.objects.create_superuser("boss", "b@example.invalid", "x"))
team = AnalyticsTokens.objects.get(token="G-6LYSMYK8DE")
url = f"/admin/analytics/analyticstokens/{team.pk}/change/"
page = c.get(url)
saved = c.post(url, {"name": "renamed", "type": "GA-V4", "token": team.token, "secret": "",
                     "send_stats": "on"})
out["aa_page_at_0002"] = [page.status_code, "otel_page_views" in page.content.decode(), saved.status_code]
call_command("migrate", "otel_aa", verbosity=0)
out["reapplied"] = columns()
from otel_aa.models import AATokenSwitches, GAToken
row, switch = GAToken.objects.get(), AATokenSwitches.objects.get()
out["kept"] = [row.name, row.page_views, row.celery_events, row.daily_stats, row.ignore_paths,
               row.aggregate_celery_events, switch.page_views, switch.celery_events,
               switch.aggregate_celery_events]
call_command("migrate", "otel_aa", "zero", verbosity=0)
out["zero"] = "otel_aa_gatoken" in connection.introspection.table_names()
print("RESULT " + json.dumps(out))
"""


def _run(script: str, redis_server: Any, tmp_path: Path, **extra: str) -> dict[str, Any]:
    env = site_env(redis_server, tmp_path / "site.sqlite3", **extra)
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-4000:]
    return dict(json.loads(line[len("RESULT "):]))


def test_alliance_auth_token_page_shows_and_saves_the_switch_and_the_token_sends_counts(
        redis_server: Any, tmp_path: Path) -> None:
    pytest.importorskip("allianceauth")
    out = _run(WITH_AA, redis_server, tmp_path)
    assert out["page"] == {"box": False, "label": True, "help": True, "beside_celery_events": True}
    assert out["on"] == [302, True, True, [True, True], True]
    assert out["list_on"] == [True, True] and out["list_off"] == [True, False]
    assert out["off"] == [False, [True, False], False]
    assert out["team_untouched"] == [False, False]
    assert out["unreadable"] == [True, True]  # fails closed: counts, which send less than per run
    assert out["unreadable_stream"] == [False, True]  # a Celery events flag that can't be read: off
    # The per-run task span went nowhere; the seven runs arrived as one count.
    assert out["sent"] == [["sync", 7, True]]
    assert out["invalid"] == 0


def test_own_token_admin_shows_lists_and_saves_the_switch(redis_server: Any, tmp_path: Path) -> None:
    out = _run(WITHOUT_AA, redis_server, tmp_path, OTEL_AA_TEST_WITHOUT_AA="1")
    assert out["add_page"] == {"box": False, "label": True, "help": True}
    assert out["added"] == [302, True, [True, True], True]
    assert out["listed"]
    assert out["edited"] == [302, False, [True, False], False]


def test_migration_0003_applies_and_reverses(redis_server: Any, tmp_path: Path) -> None:
    pytest.importorskip("allianceauth")
    out = _run(MIGRATIONS, redis_server, tmp_path)
    assert out["applied"] == [True, True]
    assert out["reversed"] == [False, False]
    assert out["aa_page_at_0002"] == [200, False, 302]  # not migrated yet: AA's page as it was
    assert out["reapplied"] == [True, True]
    # Rows from before keep every flag and take per-run events (the default).
    assert out["kept"] == ["old", True, True, False, "^/corp/", False, True, True, False]
    assert out["zero"] is False
