"""The admin pages with Django's test client, in a subprocess on ``_site.settings_admin`` (with
and without Alliance Auth's analytics app): switches, plain words, settings tokens read-only,
``ANALYTICS_DISABLED`` at the top, masked secrets, and who may see what left."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, site_env

SETTINGS_SECRET = "settings-secret-q7zx-0002"
TOKENS = json.dumps([{"name": "main", "measurement_id": "G-MAIN0002", "api_secret": SETTINGS_SECRET,
                      "celery_events": False}])

_COMMON = r"""
import json, os
import django
django.setup()
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
out = {}
boss = User.objects.create_superuser("boss", "b@example.invalid", "x")
def client(user=None):
    c = Client()
    if user is not None:
        c.force_login(user)
    return c
def text(response):
    return response.content.decode()
"""

WITH_AA = _COMMON + r"""
from allianceauth.analytics.models import AnalyticsTokens
from otel_aa import _admin_tokens as admin_tokens
from otel_aa.models import AATokenSwitches
c = client(boss)
team = AnalyticsTokens.objects.get(token="G-6LYSMYK8DE")
own = AnalyticsTokens.objects.create(name="ours", type="GA-V4", token="G-OURS0003",
                                     secret="ours-secret-q7zx-03")
url = f"/admin/analytics/analyticstokens/{team.pk}/change/"
page = text(c.get(url))
out["team_page"] = {"note": "pre-loaded" in page and "only if you tick those boxes" in page,
                    "boxes": 'name="otel_page_views"' in page and 'name="otel_celery_events"' in page,
                    "settings": "G-MAIN0002" in page, "disabled": 'id="otel-disabled"' in page,
                    "help": "/character/&lt;int:character_id&gt;/" in page}
out["own_page_note"] = "off for this token until you tick them" in text(
    c.get(f"/admin/analytics/analyticstokens/{own.pk}/change/"))
listing = text(c.get("/admin/analytics/analyticstokens/"))
out["listing"] = {"settings": "G-MAIN0002" in listing,
                  "origin": "OTEL_EXPORTER_GA_TOKENS (Django setting)" in listing,
                  "masked": "se…(25 chars)" in listing}
form = {"name": team.name, "type": "GA-V4", "token": team.token, "secret": "",
        "send_stats": "on", "otel_page_views": "on", "otel_ignore_paths": "(unclosed"}
bad = c.post(url, form)
out["bad_regex"] = [bad.status_code, "is not a regular expression" in text(bad),
                    AATokenSwitches.objects.count()]
form["otel_ignore_paths"] = "^/<admin>/\n^/corp/"
good = c.post(url, form)
admin_tokens.invalidate()
team_token = [t for t in admin_tokens.read_tokens() if t.measurement_id == "G-6LYSMYK8DE"][0]
out["saved"] = [good.status_code, team_token.page_views, team_token.celery_events, team_token.daily_stats,
                [p.pattern for p in team_token.ignore_paths]]
out["generation"] = admin_tokens._generation() is not None
team.refresh_from_db()
out["secret_kept"] = team.secret == "KLlpjLZ-SRGozS5f5wb_kw"
staff = User.objects.create_user("staff", is_staff=True)
viewer = User.objects.create_user("viewer", is_staff=True)
viewer.user_permissions.add(Permission.objects.get(codename="view_deliveries"))
pilot = User.objects.create_user("pilot")
deliveries = "/admin/otel_aa/deliveries/"
out["deliveries"] = {
    "anonymous": [client().get(deliveries).status_code, client().get(deliveries).get("Location", "")],
    "not_staff": [client(pilot).get(deliveries).status_code,
                  client(pilot).get(deliveries).get("Location", "")],
    "staff_without_permission": client(staff).get(deliveries).status_code,
    "viewer": client(viewer).get(deliveries).status_code,
    "index_link_for_viewer": deliveries in text(client(viewer).get("/admin/")),
    "index_link_for_staff": deliveries in text(client(staff).get("/admin/")),
}
page = text(client(viewer).get(deliveries))
out["deliveries_page"] = {"team": 'data-measurement-id="G-6LYSMYK8DE"' in page,
                          "settings": 'data-measurement-id="G-MAIN0002"' in page,
                          "allowlist": "http.route" in page, "schedule": 'id="otel-schedule"' in page,
                          "disabled": 'id="otel-disabled"' in page}
from otel_aa._lease import DjangoLease
lease = DjangoLease(key=f"otel-aa-admin-test-lease-{os.getpid()}")
out["lease_taken"] = lease.acquire()
import otel_aa._lease as lease_module
original = lease_module.DjangoLease
lease_module.DjangoLease = lambda: lease  # the page reads this test's lease key
try:
    due_page = text(client(viewer).get(deliveries))
finally:
    lease_module.DjangoLease = original
after = due_page.split('id="otel-next-due"')
out["next_due_shown"] = len(after) == 2 and "UTC" in after[1][:40]
pages = page + listing + text(c.get(url))
out["secrets_shown"] = [s for s in (team.secret, own.secret, os.environ["SETTINGS_SECRET"]) if s in pages]
print("RESULT " + json.dumps(out))
"""

WITHOUT_AA = _COMMON + r"""
from otel_aa import _admin_tokens as admin_tokens
from otel_aa.models import GAToken
c = client(boss)
bad = c.post("/admin/otel_aa/gatoken/add/", {"name": "x", "measurement_id": "UA-1234-1",
                                             "api_secret": "s" * 22,
                                             "page_views": "on"})
out["bad_id"] = [bad.status_code, "is not a GA4 measurement id" in text(bad), GAToken.objects.count()]
added = c.post("/admin/otel_aa/gatoken/add/", {"name": "own", "measurement_id": "G-OWN00004",
                                               "api_secret": "own-secret-q7zx-0004", "page_views": "on"})
row = GAToken.objects.get()
out["added"] = [added.status_code, row.api_secret, row.page_views, row.celery_events]
edited = c.post(f"/admin/otel_aa/gatoken/{row.pk}/change/", {"name": "own", "measurement_id": "G-OWN00004",
                                                              "api_secret": "", "celery_events": "on"})
row.refresh_from_db()
out["edited"] = [edited.status_code, row.api_secret, row.page_views, row.celery_events]
listing = text(c.get("/admin/otel_aa/gatoken/"))
change = text(c.get(f"/admin/otel_aa/gatoken/{row.pk}/change/"))
out["listing"] = {"masked": "ow…(20 chars)" in listing, "id": "G-OWN00004" in listing,
                  "secret_shown": row.api_secret in listing + change,
                  "disabled": 'id="otel-disabled"' in listing,
                  "settings": "G-MAIN0002" in listing}
admin_tokens.invalidate()
out["in_force"] = [(t.measurement_id, t.page_views, t.celery_events) for t in admin_tokens.token_source()]
print("RESULT " + json.dumps(out))
"""


def _run(script: str, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=180)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-4000:]
    assert SETTINGS_SECRET not in done.stderr
    return dict(json.loads(line[len("RESULT "):]))


def _env(redis_server: Any, tmp_path: Path, **extra: str) -> dict[str, str]:
    # The tokens as a Django setting, the way local.py holds them: via a tiny settings module.
    module = tmp_path / "admin_settings_tokens.py"
    module.write_text(f"from _site.settings_admin import *  # noqa\nOTEL_EXPORTER_GA_TOKENS = {TOKENS!r}\n")
    env = site_env(redis_server, tmp_path / "site.sqlite3", SETTINGS_SECRET=SETTINGS_SECRET, **extra)
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    env["DJANGO_SETTINGS_MODULE"] = "admin_settings_tokens"
    return env


def test_alliance_auth_token_pages(redis_server: Any, tmp_path: Path) -> None:
    pytest.importorskip("allianceauth")
    out = _run(WITH_AA, _env(redis_server, tmp_path))
    assert out["team_page"] == {"note": True, "boxes": True, "settings": True, "disabled": False,
                                "help": True}
    assert out["own_page_note"]
    assert out["listing"] == {"settings": True, "origin": True, "masked": True}
    assert out["bad_regex"] == [200, True, 0]  # refused with the reason, nothing saved
    assert out["saved"] == [302, True, False, True, ["^/<admin>/", "^/corp/"]]
    assert out["generation"]  # the other processes are told
    assert out["secret_kept"]  # the form never shows it; blank keeps it
    deliveries = out["deliveries"]
    assert deliveries["anonymous"][0] == 302 and "/admin/login/" in deliveries["anonymous"][1]
    assert deliveries["not_staff"][0] == 302 and "/admin/login/" in deliveries["not_staff"][1]
    assert deliveries["staff_without_permission"] == 403 and deliveries["viewer"] == 200
    assert deliveries["index_link_for_viewer"] and not deliveries["index_link_for_staff"]
    assert out["deliveries_page"] == {"team": True, "settings": True, "allowlist": True, "schedule": True,
                                      "disabled": False}
    assert out["lease_taken"] and out["next_due_shown"]  # when the next daily-stats send is due
    assert out["secrets_shown"] == []


def test_analytics_disabled_is_shown_at_the_top(redis_server: Any, tmp_path: Path) -> None:
    pytest.importorskip("allianceauth")
    out = _run(WITH_AA, _env(redis_server, tmp_path, ANALYTICS_DISABLED="true"))
    assert out["team_page"]["disabled"] and out["deliveries_page"]["disabled"]


def test_own_token_admin_without_alliance_auth(redis_server: Any, tmp_path: Path) -> None:
    out = _run(WITHOUT_AA, _env(redis_server, tmp_path, OTEL_AA_TEST_WITHOUT_AA="1"))
    assert out["bad_id"] == [200, True, 0]
    assert out["added"] == [302, "own-secret-q7zx-0004", True, False]
    assert out["edited"] == [302, "own-secret-q7zx-0004", False, True]  # a blank secret keeps it
    assert out["listing"] == {"masked": True, "id": True, "secret_shown": False, "disabled": False,
                              "settings": True}
    assert out["in_force"] == [["G-OWN00004", False, True]]


UNMIGRATED = _COMMON + r"""
call_command("migrate", "otel_aa", "zero", verbosity=0)
from allianceauth.analytics.models import AnalyticsTokens
c = client(boss)
team = AnalyticsTokens.objects.get(token="G-6LYSMYK8DE")
url = f"/admin/analytics/analyticstokens/{team.pk}/change/"
page = c.get(url)
saved = c.post(url, {"name": "renamed", "type": "GA-V4", "token": team.token, "secret": "",
                     "send_stats": "on"})
team.refresh_from_db()
out["change"] = [page.status_code, "otel_page_views" in text(page)]
out["list"] = c.get("/admin/analytics/analyticstokens/").status_code
out["saved"] = [saved.status_code, team.name, team.send_stats]
print("RESULT " + json.dumps(out))
"""


def test_alliance_auth_pages_work_before_otel_aa_is_migrated(redis_server: Any, tmp_path: Path) -> None:
    pytest.importorskip("allianceauth")
    out = _run(UNMIGRATED, _env(redis_server, tmp_path))
    assert out["change"] == [200, False]  # AA's own form, without otel-aa's switches
    assert out["list"] == 200
    assert out["saved"] == [302, "renamed", True]
