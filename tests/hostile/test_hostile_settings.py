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


T = "OTEL_EXPORTER_GA_TOKENS"


def _case(name: str, setting: str, good_still_sent: bool, **env: str) -> Any:
    """One malformed setting: the environment, the setting its message must name, and whether the
    good token must still get its page view."""
    env.setdefault(T, _tokens())
    return pytest.param(env, setting, good_still_sent, id=name)


def _bad(**token: Any) -> str:
    return _tokens({"measurement_id": "G-BAD0001", "api_secret": SECRET, **token})


CASES = [
    _case(
        "tokens-not-json",
        T,
        False,
        OTEL_EXPORTER_GA_TOKENS='[{"measurement_id": "G-X1", "api_secret": "' + SECRET,
    ),
    _case("tokens-not-a-list", T, False, OTEL_EXPORTER_GA_TOKENS='"' + SECRET + '"'),
    _case("token-not-an-object", T, True, OTEL_EXPORTER_GA_TOKENS=_tokens(SECRET)),
    _case("token-no-secret", T, True, OTEL_EXPORTER_GA_TOKENS=_bad(api_secret="")),
    _case("token-no-id", T, True, OTEL_EXPORTER_GA_TOKENS=_tokens({"api_secret": SECRET})),
    _case("token-universal-analytics", T, True, OTEL_EXPORTER_GA_TOKENS=_bad(measurement_id="UA-1234-1")),
    _case("token-bad-id", T, True, OTEL_EXPORTER_GA_TOKENS=_bad(measurement_id="G-!!")),
    _case(
        "token-id-and-secret-swapped",
        T,
        True,
        OTEL_EXPORTER_GA_TOKENS=_bad(measurement_id=SECRET, api_secret="G-SWAPPED1"),
    ),
    _case("token-bad-regex", T, True, OTEL_EXPORTER_GA_TOKENS=_bad(ignore_paths=["(unclosed"])),
    _case("token-paths-not-a-list", T, True, OTEL_EXPORTER_GA_TOKENS=_bad(ignore_paths="^/admin/")),
    _case("token-flag-not-bool", T, True, OTEL_EXPORTER_GA_TOKENS=_bad(page_views="perhaps")),
    _case(
        "short-form-id-only",
        "OTEL_EXPORTER_GA_MEASUREMENT_ID",
        True,
        OTEL_EXPORTER_GA_MEASUREMENT_ID="G-SHORT001",
    ),
    _case("short-form-secret-only", "OTEL_EXPORTER_GA_API_SECRET", True, OTEL_EXPORTER_GA_API_SECRET=SECRET),
    # Opt-outs fail closed: an unreadable flag turns its stream off (the page view isn't sent),
    # an unreadable ANALYTICS_DISABLED disables GA.
    _case("page-views-flag", "OTEL_EXPORTER_GA_PAGE_VIEWS", False, OTEL_EXPORTER_GA_PAGE_VIEWS="maybe"),
    _case("page-views-flag-2", "OTEL_EXPORTER_GA_PAGE_VIEWS", False, OTEL_EXPORTER_GA_PAGE_VIEWS="2"),
    _case("celery-events-flag", "OTEL_EXPORTER_GA_CELERY_EVENTS", True, OTEL_EXPORTER_GA_CELERY_EVENTS="2"),
    _case(
        "daily-stats-flag", "OTEL_EXPORTER_GA_DAILY_STATS", True, OTEL_EXPORTER_GA_DAILY_STATS="yes please"
    ),
    # A bad shared rule turns every token off (the safe side: no page the admin meant to exclude).
    _case(
        "ignore-paths-regex",
        "OTEL_EXPORTER_GA_IGNORE_PATHS",
        False,
        OTEL_EXPORTER_GA_IGNORE_PATHS="(unclosed,^/ok/",
    ),
    *[
        _case(f"timeout-{v}", "OTEL_EXPORTER_GA_TIMEOUT", True, OTEL_EXPORTER_GA_TIMEOUT=v)
        for v in ("-1", "0", "ten", "nan", "1e309")
    ],
    _case("stats-interval", "OTEL_EXPORTER_GA_STATS_INTERVAL", True, OTEL_EXPORTER_GA_STATS_INTERVAL="daily"),
    _case("validate-flag", "OTEL_EXPORTER_GA_VALIDATE", True, OTEL_EXPORTER_GA_VALIDATE="sometimes"),
    *[
        _case(f"analytics-disabled-{v}", "ANALYTICS_DISABLED", False, ANALYTICS_DISABLED=v)
        for v in ("perhaps", "y", "2", "disable")
    ],
    *[
        _case(f"endpoint-{name}", "OTEL_EXPORTER_GA_ENDPOINT", False, OTEL_EXPORTER_GA_ENDPOINT=value)
        for name, value in (
            ("not-a-url", "not a url"),
            ("wrong-scheme", "ftp://127.0.0.1/mp/collect"),
            ("broken-host", "http://[::1/mp/collect"),
            ("no-host", "https:///mp/collect"),
            ("spaces", "https://127.0.0.1/mp/ collect"),
        )
    ],
    # Read only when there is another span exporter than GA: the console one (stdout) will do.
    _case(
        "otlp-allowlist-flag",
        "OTEL_AA_OTLP_ALLOWLIST",
        True,
        OTEL_AA_OTLP_ALLOWLIST="sure",
        OTEL_TRACES_EXPORTER="ga,console",
    ),
    _case("title-length", "OTEL_AA_TITLE_MAX_LENGTH", True, OTEL_AA_TITLE_MAX_LENGTH="-5"),
    _case("flush-timeout", "OTEL_AA_FLUSH_TIMEOUT", True, OTEL_AA_FLUSH_TIMEOUT="soon"),
]

# Messages logged before Django's LOGGING is set up (otel_aa.configure() comes first in wsgi.py)
# go through Python's last-resort handler, without a level prefix; after, "LEVEL logger message".
_QUIET = re.compile(r"^(DEBUG|INFO) ")


@pytest.fixture(scope="module")
def site_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile-site") / "site.sqlite3"
    env = _base_env(path)
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"],
        env=env,
        cwd=ROOT,
        check=True,
        timeout=180,
    )
    return path


@pytest.fixture(scope="module")
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


def _base_env(db: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OTEL_", "PYTEST_", "DJANGO_")) and k != "ANALYTICS_DISABLED"
    }
    env.update(
        PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(ROOT)]),
        DJANGO_SETTINGS_MODULE="_site.settings",
        OTEL_AA_TEST_DB=str(db),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.mark.parametrize(("env", "setting", "good_still_sent"), CASES)
def test_malformed_setting(
    site_db: Path, ga: GACollector, env: dict[str, str], setting: str, good_still_sent: bool
) -> None:
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
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("_start_app.py"))],
        env=full,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]
    (line,) = [ln for ln in done.stdout.splitlines() if ln.startswith("OTEL-AA-RESULT ")]
    result = json.loads(line.split(" ", 1)[1])
    assert result["status"] == 200, "the app did not serve its page"

    assert SECRET not in out, "a secret reached a log line"
    problems = [ln for ln in done.stderr.splitlines() if ln.strip() and not _QUIET.match(ln)]
    # The start-up line (otel_aa._startup) says what is active or why GA is off; it is the status,
    # not a second report of the problem, so it is counted apart.
    status = [ln for ln in problems if "nothing is sent to Google Analytics from this process" in ln]
    naming = [ln for ln in problems if setting in ln and ln not in status]
    assert len(naming) == 1, f"expected one message naming {setting}, got:\n" + "\n".join(problems)
    assert len(status) <= 1, status
    # No traceback: a clear message, not a crash report.
    assert "Traceback" not in done.stderr, done.stderr[-3000:]

    got = ga.events("page_view", GOOD["measurement_id"])
    if good_still_sent:
        assert len(got) == 1, "the rest of otel-aa did not keep running"
    else:
        assert got == [], "a setting that can't be read let a page view through"
