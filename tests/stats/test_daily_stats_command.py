"""``manage.py otel_aa_stats``: what would be sent, per token, secrets masked; ``--send``."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import redis
from _stats_support import (
    MAIN_ID,
    MAIN_SECRET,
    OFF_ID,
    OFF_SECRET,
    OTHER_ID,
    OTHER_SECRET,
    Install,
    existence_count,
)
from opentelemetry.exporter.google_analytics.testing import GACollector

from otel_aa._lease import DEFAULT_LEASE_KEY

pytestmark = pytest.mark.slow

SECRETS = (MAIN_SECRET, OFF_SECRET, OTHER_SECRET)


def _printed_requests(stdout: str) -> list[tuple[str, Any]]:
    """(``POST`` line, parsed JSON body) for each request the command printed."""
    found: list[tuple[str, list[str]]] = []
    for line in stdout.splitlines():
        if line.startswith("POST "):
            found.append((line, []))
        elif line.startswith(("Token ", "Sent ", "Daily statistics", "Nothing")):
            continue
        elif found:
            found[-1][1].append(line)
    return [(post, json.loads("\n".join(body))) for post, body in found]


def _command(install: Install, *args: str, **env: str) -> Any:
    return install.run("django", "otel_aa_stats", *args, **env)


def test_prints_each_tokens_requests_with_the_secret_masked_and_sends_nothing(
    make_install: Any, collector: GACollector
) -> None:
    install: Install = make_install()
    assert install.run("seed", "2", "1").returncode == 0
    result = _command(install)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for secret in SECRETS:
        assert secret not in out + result.stderr
    assert f"Token 'main' ({MAIN_ID}, api_secret st…({len(MAIN_SECRET)} chars)): 1 request(s)" in out
    assert f"Token 'off' ({OFF_ID}, api_secret st…({len(OFF_SECRET)} chars)): daily_stats is off" in out
    printed = _printed_requests(out)
    assert [post.split("measurement_id=")[1].split("&")[0] for post, _ in printed] == [MAIN_ID, OTHER_ID]
    for post, body in printed:
        assert f"api_secret=st…({len(MAIN_SECRET)} chars)" in post or \
            f"api_secret=st…({len(OTHER_SECRET)} chars)" in post
        labels = {e["params"]["label"]: e["params"]["value"] for e in body["events"]}
        assert labels == {"existence": 1, "existence_baremetal": 1, "users": 2, "tokens": 1,
                          "addons": 7, "fleetpings": 1}
    assert collector.requests == [], "the preview sent something"


def test_send_sends_exactly_what_it_prints_and_renews_the_lease(
    make_install: Any, collector: GACollector
) -> None:
    install: Install = make_install(interval=3600)
    assert install.run("seed", "1", "0").returncode == 0
    result = _command(install, "--send")
    assert result.returncode == 0, result.stderr
    assert "Sent 2 request(s)" in result.stdout
    printed = [body for _, body in _printed_requests(result.stdout)]
    assert printed == [hit.body for hit in collector.hits]
    assert existence_count(collector, MAIN_ID) == 1 and existence_count(collector, OTHER_ID) == 1
    assert existence_count(collector, OFF_ID) == 0

    # The lease now covers the interval: a process starting now sends nothing more.
    client = redis.Redis.from_url(install.redis_url)
    try:
        ttl = client.ttl(f"{install.key_prefix}:1:{DEFAULT_LEASE_KEY}")
    finally:
        client.close()
    assert 0 < ttl <= 3600
    # The command shows that send and the next one, an interval later, as troubleshooting.md says.
    shown = _command(install)
    assert shown.returncode == 0, shown.stderr
    times = re.search(r"Last send: (\S+ \S+) UTC\. Next send: (\S+ \S+) UTC\.", shown.stdout)
    assert times, shown.stdout
    last, following = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
                       for t in times.groups())
    assert abs((datetime.now(timezone.utc) - last).total_seconds()) < 600
    assert abs((following - last) - timedelta(seconds=3600)) <= timedelta(seconds=1)
    child = install.start("serve")
    child.expect("ready")
    child.send("go")
    child.expect("flushed")
    child.send("stop")
    child.expect("done")
    assert child.finish() == 0
    assert existence_count(collector, MAIN_ID) == 1


def test_last_and_next_send_from_the_database_lease(make_install: Any, collector: GACollector) -> None:
    # A per-process cache: the lease is the StatsLease row, which holds both times too.
    install: Install = make_install(cache="locmem", interval=7200)
    before = _command(install)
    assert "Next send: due now" in before.stdout, before.stdout
    assert _command(install, "--send").returncode == 0
    after = _command(install)
    times = re.search(r"Last send: (\S+ \S+) UTC\. Next send: (\S+ \S+) UTC\.", after.stdout)
    assert times and "lease in the database" in after.stdout, after.stdout
    last, following = (datetime.strptime(t, "%Y-%m-%d %H:%M:%S") for t in times.groups())
    # Shown to the second: the row's expiry and the holder's time are read a moment apart.
    assert abs((following - last) - timedelta(seconds=7200)) <= timedelta(seconds=1)


def test_send_exits_non_zero_when_a_send_fails(make_install: Any, collector: GACollector) -> None:
    install: Install = make_install()
    collector.fail_next(10, status=400)
    result = _command(install, "--send")
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Sending the daily statistics failed" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    for secret in SECRETS:
        assert secret not in result.stdout + result.stderr


def test_alliance_auth_tokens_with_send_stats_are_included(
    make_install: Any, collector: GACollector
) -> None:
    pytest.importorskip("allianceauth.analytics")
    install: Install = make_install(STATS_TEST_AA="1")
    assert install.run("aatoken", "G-AASTATS0001", "aa-stats-secret-000000", "1").returncode == 0
    assert install.run("aatoken", "G-AANOSTATS01", "aa-nostats-secret-0000", "0").returncode == 0
    result = _command(install, "--send", STATS_TEST_AA="1")
    assert result.returncode == 0, result.stderr
    assert "G-AASTATS0001" in result.stdout
    assert "G-AANOSTATS01" not in result.stdout
    assert "aa-stats-secret-000000" not in result.stdout + result.stderr
    assert existence_count(collector, "G-AASTATS0001") == 1
    assert existence_count(collector, "G-AANOSTATS01") == 0
