"""Every setting malformed in every way: one clear message naming it, the secret masked, the app
still starts and serves, and only the malformed part is off (the good token still gets its hit).

Each case is a fresh process (settings are read at start, messages are logged once per process)
that starts the test project with ``otel_aa.configure()`` and serves a page.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.google_analytics.testing import GACollector

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]

TESTS_DIR = Path(__file__).resolve().parent.parent
ROOT = TESTS_DIR.parent
SECRET = "hostilecanary-S3cr3t-9f2e71"
GOOD = {"name": "good", "measurement_id": "G-GOOD0001", "api_secret": "goodsecret-71be3a0c"}


def _tokens(*bad: Any) -> str:
    return json.dumps([GOOD, *bad])


# (id, environment, setting the message must name, the good token still gets its page view)
CASES: list[tuple[str, dict[str, str], str, bool]] = [
    ("tokens-not-json", {"OTEL_EXPORTER_GA_TOKENS": '[{"measurement_id": "G-X1", "api_secret": "' + SECRET}, "OTEL_EXPORTER_GA_TOKENS", False),
    ("tokens-not-a-list", {"OTEL_EXPORTER_GA_TOKENS": '"' + SECRET + '"'}, "OTEL_EXPORTER_GA_TOKENS", False),
    ("token-not-an-object", {"OTEL_EXPORTER_GA_TOKENS": _tokens(SECRET)}, "OTEL_EXPORTER_GA_TOKENS", True),
    ("token-no-secret", {"OTEL_EXPORTER_GA_TOKENS": _tokens({"measurement_id": "G-BAD0001", "api_secret": ""})},
     "OTEL_EXPORTER_GA_TOKENS", True),
    ("token-no-id", {"OTEL_EXPORTER_GA_TOKENS": _tokens({"api_secret": SECRET})}, "OTEL_EXPORTER_GA_TOKENS", True),
    ("token-universal-analytics", {"OTEL_EXPORTER_GA_TOKENS": _tokens({"measurement_id": "UA-1234-1", "api_secret": SECRET})},
     "OTEL_EXPORTER_GA_TOKENS", True),
    ("token-bad-id", {"OTEL_EXPORTER_GA_TOKENS": _tokens({"measurement_id": "G-!!", "api_secret": SECRET})},
     "OTEL_EXPORTER_GA_TOKENS", True),
    ("token-id-and-secret-swapped", {"OTEL_EXPORTER_GA_TOKENS": _tokens({"measurement_id": SECRET, "api_secret": "G-SWAPPED1"})},
     "OTEL_EXPORTER_GA_TOKENS", True),
    ("token-bad-regex", {"OTEL_EXPORTER_GA_TOKENS": _tokens({"measurement_id": "G-BAD0002", "api_secret": SECRET, "ignore_paths": ["(unclosed"]})},
     "OTEL_EXPORTER_GA_TOKENS", True),
    ("token-paths-not-a-list", {"OTEL_EXPORTER_GA_TOKENS": _tokens({"measurement_id": "G-BAD0003", "api_secret": SECRET, "ignore_paths": "^/admin/"})},
     "OTEL_EXPORTER_GA_TOKENS", True),
    ("token-flag-not-bool", {"OTEL_EXPORTER_GA_TOKENS": _tokens({"measurement_id": "G-BAD0004", "api_secret": SECRET, "page_views": "perhaps"})},
     "OTEL_EXPORTER_GA_TOKENS", True),
    ("short-form-id-only", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_MEASUREMENT_ID": "G-SHORT001"},
     "OTEL_EXPORTER_GA_MEASUREMENT_ID", True),
    ("short-form-secret-only", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_API_SECRET": SECRET},
     "OTEL_EXPORTER_GA_API_SECRET", True),
    ("page-views-flag", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_PAGE_VIEWS": "maybe"},
     "OTEL_EXPORTER_GA_PAGE_VIEWS", True),
    ("celery-events-flag", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_CELERY_EVENTS": "2"},
     "OTEL_EXPORTER_GA_CELERY_EVENTS", True),
    ("daily-stats-flag", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_DAILY_STATS": "yes please"},
     "OTEL_EXPORTER_GA_DAILY_STATS", True),
    ("ignore-paths-regex", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_IGNORE_PATHS": "(unclosed,^/ok/"},
     "OTEL_EXPORTER_GA_IGNORE_PATHS", False),
    ("timeout-negative", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_TIMEOUT": "-1"}, "OTEL_EXPORTER_GA_TIMEOUT", True),
    ("timeout-zero", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_TIMEOUT": "0"}, "OTEL_EXPORTER_GA_TIMEOUT", True),
    ("timeout-text", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_TIMEOUT": "ten"}, "OTEL_EXPORTER_GA_TIMEOUT", True),
    ("timeout-nan", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_TIMEOUT": "nan"}, "OTEL_EXPORTER_GA_TIMEOUT", True),
    ("timeout-inf", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_TIMEOUT": "1e309"}, "OTEL_EXPORTER_GA_TIMEOUT", True),
    ("stats-interval", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_STATS_INTERVAL": "daily"},
     "OTEL_EXPORTER_GA_STATS_INTERVAL", True),
    ("validate-flag", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_VALIDATE": "sometimes"},
     "OTEL_EXPORTER_GA_VALIDATE", True),
    ("analytics-disabled-flag", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "ANALYTICS_DISABLED": "perhaps"},
     "ANALYTICS_DISABLED", True),
    ("endpoint-not-a-url", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_ENDPOINT": "not a url"},
     "OTEL_EXPORTER_GA_ENDPOINT", False),
    ("endpoint-wrong-scheme", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_ENDPOINT": "ftp://127.0.0.1/mp/collect"},
     "OTEL_EXPORTER_GA_ENDPOINT", False),
    ("endpoint-broken-host", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_EXPORTER_GA_ENDPOINT": "http://[::1/mp/collect"},
     "OTEL_EXPORTER_GA_ENDPOINT", False),
    ("otlp-allowlist-flag", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_AA_OTLP_ALLOWLIST": "sure"},
     "OTEL_AA_OTLP_ALLOWLIST", True),
    ("title-length", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_AA_TITLE_MAX_LENGTH": "-5"}, "OTEL_AA_TITLE_MAX_LENGTH", True),
    ("flush-timeout", {"OTEL_EXPORTER_GA_TOKENS": _tokens(), "OTEL_AA_FLUSH_TIMEOUT": "soon"}, "OTEL_AA_FLUSH_TIMEOUT", True),
]

# Messages logged before Django's LOGGING is set up (otel_aa.configure() comes first in wsgi.py)
# go through Python's last-resort handler, without a level prefix; after, "LEVEL logger message".
_QUIET = re.compile(r"^(DEBUG|INFO) ")


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile-site") / "site.sqlite3"
    env = _base_env(path)
    subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"], env=env,
                   cwd=ROOT, check=True, timeout=180)
    return path


@pytest.fixture(scope="module")
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


def _base_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "PYTEST_", "DJANGO_")) and k != "ANALYTICS_DISABLED"}
    env.update(
        PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(ROOT)]),
        DJANGO_SETTINGS_MODULE="_site.settings",
        OTEL_AA_TEST_DB=str(db),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.mark.parametrize(("env", "setting", "good_still_sent"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_setting(site_db: Path, ga: GACollector, env: dict[str, str], setting: str,
                           good_still_sent: bool) -> None:
    ga.clear()
    full = _base_env(site_db)
    full.update(
        OTEL_EXPORTER_GA_ENDPOINT=ga.endpoint,
        OTEL_EXPORTER_GA_TIMEOUT="5",
        OTEL_EXPORTER_GA_VALIDATE="false",
        OTEL_TRACES_EXPORTER="ga",
        OTEL_METRICS_EXPORTER="ga",
    )
    full.update(env)
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("_start_app.py"))], env=full,
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("OTEL-AA-RESULT ")]
    result = json.loads(line.split(" ", 1)[1])
    assert result["status"] == 200, "the app did not serve its page"

    assert SECRET not in out, "a secret reached a log line"
    problems = [ln for ln in done.stderr.splitlines() if ln.strip() and not _QUIET.match(ln)]
    naming = [ln for ln in problems if setting in ln]
    assert len(naming) == 1, f"expected one message naming {setting}, got:\n" + "\n".join(problems)
    # No traceback: a clear message, not a crash report.
    assert "Traceback" not in done.stderr, done.stderr[-3000:]

    got = ga.events("page_view", GOOD["measurement_id"])
    if good_still_sent:
        assert len(got) == 1, "the rest of otel-aa did not keep running"
