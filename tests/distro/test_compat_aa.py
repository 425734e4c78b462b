"""otel_aa._compat against the real Alliance Auth analytics app (``allianceauth`` installed), in a
subprocess with ``_site.settings_aa`` (the in-process Django runs the plain test project).
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import ROOT, base_env

pytest.importorskip("allianceauth")

PROBE = r"""
import json, os
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from allianceauth.analytics.models import AnalyticsIdentifier, AnalyticsTokens
from otel_aa import _admin_tokens as admin_tokens, _compat as compat, _config as config, _identity as identity

AnalyticsTokens.objects.create(name="stats-on", type="GA-V4", token="G-AASTATS1",
                               secret="aa-secret-123456", send_stats=True)
AnalyticsTokens.objects.create(name="stats-off", type="GA-V4", token="G-AAOFF002",
                               secret="aa-secret-123456", send_stats=False)
AnalyticsTokens.objects.create(name="old", type="GA-U", token="UA-1-1", secret="x", send_stats=True)
from otel_aa.models import InstallIdentity

tokens = admin_tokens.aa_stats_tokens()
# migrate's post_migrate handler made AA's row (no AA 5 migration does); nothing of otel-aa's own.
settled = list(AnalyticsIdentifier.objects.values_list("identifier", flat=True))
client_id = identity.client_id()
# Without AA's row otel-aa neither makes one nor falls back to its own: "not known yet".
AnalyticsIdentifier.objects.all().delete()
identity._reset_cache()
missing = identity.client_id()
rows_after_missing = [AnalyticsIdentifier.objects.count(), InstallIdentity.objects.count()]
call_command("migrate", verbosity=0)
identity._reset_cache()
result = {
    "settled": [u.hex for u in settled],
    "missing": missing,
    "rows_after_missing": rows_after_missing,
    "own_rows": InstallIdentity.objects.count(),
    "resettled": identity.client_id() == AnalyticsIdentifier.objects.get().identifier.hex,
    "version": compat.aa_version(),
    "client_id": client_id,
    "aa_identifier": settled[0].hex if settled else None,
    "tokens": [[t.measurement_id, t.page_views, t.celery_events, t.daily_stats] for t in tokens],
    "secret_in_repr": any("aa-secret-123456" in repr(t) for t in tokens),
}
os.environ["ANALYTICS_DISABLED"] = "true"
config.reload()  # settings are resolved once (otel_aa._config)
result["disabled_tokens"] = len(admin_tokens.aa_stats_tokens())
result["disabled"] = compat.analytics_disabled()
print("RESULT " + json.dumps(result))
"""


def test_compat_with_real_alliance_auth(tmp_path, redis_server):
    env = base_env(redis_server, tmp_path / "aa.sqlite3")
    env["DJANGO_SETTINGS_MODULE"] = "_site.settings_aa"
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-4000:]
    result = json.loads(line[len("RESULT "):])
    assert result["version"] and result["version"][0].isdigit()
    assert result["client_id"] == result["aa_identifier"]  # AA's identifier is the client_id
    assert len(result["settled"]) == 1
    assert result["missing"] is None and result["rows_after_missing"] == [0, 0]
    assert result["own_rows"] == 0 and result["resettled"]
    # Only GA-V4 tokens with send_stats, for the daily stats only.
    assert result["tokens"] == [["G-AASTATS1", False, False, True]]
    assert not result["secret_in_repr"]
    assert result["disabled"] and result["disabled_tokens"] == 0
    assert "aa-secret-123456" not in done.stderr


SEED = r"""
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from allianceauth.analytics.models import AnalyticsIdentifier, AnalyticsTokens
AnalyticsTokens.objects.create(name="stats-on", type="GA-V4", token="G-AASTATS1",
                               secret="aa-secret-123456", send_stats=True)
print("RESULT " + AnalyticsIdentifier.get_solo().identifier.hex)
"""


@pytest.mark.slow
def test_aa_tokens_get_the_daily_stats_live(tmp_path, redis_server, gunicorn, ga):
    import requests

    from .conftest import otel_env

    db = tmp_path / "aa-live.sqlite3"
    env = base_env(redis_server, db)
    env["DJANGO_SETTINGS_MODULE"] = "_site.settings_aa"
    done = subprocess.run([sys.executable, "-c", SEED], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-4000:]
    aa_identifier = line[len("RESULT "):]

    env = otel_env(redis_server, db, ga, extra={"DJANGO_SETTINGS_MODULE": "_site.settings_aa",
                                                "OTEL_METRICS_EXPORTER": "ga",
                                                # its own lease key: other tests' sends don't count
                                                "OTEL_AA_TEST_REDIS_PREFIX": redis_server.prefix + "aa:"})
    proc, base = gunicorn(env)
    assert requests.get(base + "/", timeout=10).status_code == 200
    log = proc.stop()

    def stats(measurement_id):
        return [e for e in ga.events("celery_event", measurement_id)
                if e["params"]["namespace"] == "allianceauth.analytics"]

    assert ga.wait_for(lambda c: stats("G-AASTATS1") and stats("G-MAIN0001"), timeout=20), log[-4000:]
    assert ga.events("page_view", "G-AASTATS1") == []  # AA's tokens: daily stats only
    assert len(ga.events("page_view", "G-MAIN0001")) == 1
    assert {h.body["client_id"] for h in ga.hits} == {aa_identifier}
    assert "aa-secret-123456" not in log
