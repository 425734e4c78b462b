"""Once a day per install, however many processes: real OS processes racing for the lease.

Each "install" is a SQLite file (or a MariaDB database) plus a Redis key prefix shared by its child
processes, as gunicorn workers, Celery workers and beat share AA's database and Redis. The
children start their GA metric pipeline together on the test's ``go`` and flush it at once (the
start-up send); the collector then tells how many sets of daily stats went out.
"""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from _stats_support import (
    MAIN_ID,
    OFF_ID,
    OTHER_ID,
    STEP_TIMEOUT,
    Child,
    Install,
    existence_count,
    stats_events,
)
from opentelemetry.exporter.google_analytics.testing import GACollector

from otel_aa._lease import DEFAULT_LEASE_KEY

pytestmark = pytest.mark.slow


def _go(children: list[Child]) -> None:
    """Start the pipelines of ``children`` together and wait until each has flushed."""
    for child in children:
        child.send("go")
    for child in children:
        child.expect("flushed")


def _stop(children: list[Child]) -> list[dict[str, Any]]:
    """Shut the pipelines down (a last collection, gated by the lease) and wait for the exits."""
    for child in children:
        child.send("stop")
    summaries = []
    for child in children:
        summaries.append(json.loads(child.expect("done")))
        assert child.finish() == 0, child.stderr
    return summaries


def _sets(collector: GACollector) -> dict[str, int]:
    return {token: existence_count(collector, token) for token in (MAIN_ID, OTHER_ID, OFF_ID)}


def _redis(install: Install) -> Any:
    return redis.Redis.from_url(install.redis_url)


def _lease_key(install: Install) -> str:
    # django-redis's key layout: KEY_PREFIX:VERSION:key
    return f"{install.key_prefix}:1:{DEFAULT_LEASE_KEY}"


def _wait_until(predicate: Any, timeout: float) -> bool:
    """Re-check ``predicate`` until it holds or ``timeout`` passes (a condition wait, not a delay)."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not predicate():
        if time.monotonic() > deadline:
            return False
        pause.wait(0.05)
    return True


def test_racing_processes_send_one_set_per_interval_through_redis(
    make_install: Any, collector: GACollector
) -> None:
    interval = 6
    install: Install = make_install(cache="redis", interval=interval)
    # All processes are started (imports, django.setup()) up front and wait at "ready", so the
    # phases below take a fraction of the interval even on a busy machine.
    first = [install.start("serve") for _ in range(4)]
    restarted = [install.start("serve") for _ in range(3)]
    later = [install.start("serve") for _ in range(3)]
    for child in first + restarted + later:
        child.expect("ready")
    client = _redis(install)
    key = _lease_key(install)
    try:
        # 1. Four processes start together: exactly one set, to each token with daily_stats on.
        _go(first)
        assert _sets(collector) == {MAIN_ID: 1, OTHER_ID: 1, OFF_ID: 0}
        ttl = client.pttl(key)
        assert 0 < ttl <= interval * 1000, "the lease lives in Redis for one interval"
        _stop(first)
        assert _sets(collector) == {MAIN_ID: 1, OTHER_ID: 1, OFF_ID: 0}
        assert len({hit.body["client_id"] for hit in collector.hits}) == 1

        # 2. A restart inside the interval sends nothing new.
        _go(restarted)
        _stop(restarted)
        assert client.pttl(key) > 0, "inconclusive: the lease expired before the restart was checked"
        assert _sets(collector) == {MAIN_ID: 1, OTHER_ID: 1, OFF_ID: 0}

        # 3. Once the lease has expired (Redis's own clock), three processes starting together send
        # one more set.
        assert _wait_until(lambda: not client.exists(key), timeout=interval + STEP_TIMEOUT)
        _go(later)
        assert _sets(collector) == {MAIN_ID: 2, OTHER_ID: 2, OFF_ID: 0}
        _stop(later)
        assert _sets(collector) == {MAIN_ID: 2, OTHER_ID: 2, OFF_ID: 0}
    finally:
        client.close()
    assert not collector.invalid


@pytest.mark.parametrize("database", ["sqlite", "mariadb"])
def test_racing_processes_share_the_database_lease_when_the_cache_is_per_process(
    make_install: Any, collector: GACollector, request: pytest.FixtureRequest, database: str
) -> None:
    env = {}
    if database == "mariadb":
        env["STATS_TEST_MYSQL_DB"] = request.getfixturevalue("mariadb_database")
    install: Install = make_install(cache="locmem", interval=86400, **env)
    first = [install.start("serve") for _ in range(4)]
    restarted = [install.start("serve") for _ in range(2)]
    later = [install.start("serve") for _ in range(3)]
    for child in first + restarted + later:
        child.expect("ready")

    # Four processes race for a missing row: one INSERT wins.
    _go(first)
    assert _sets(collector) == {MAIN_ID: 1, OTHER_ID: 1, OFF_ID: 0}
    assert {summary["backend"] for summary in _stop(first)} == {"database"}

    # An hour later: still inside the day.
    install.advance_clock(3600)
    _go(restarted)
    _stop(restarted)
    assert _sets(collector) == {MAIN_ID: 1, OTHER_ID: 1, OFF_ID: 0}

    # A day later (by the lease's clock), three processes race for the expired row: one more set.
    install.advance_clock(86400)
    _go(later)
    _stop(later)
    assert _sets(collector) == {MAIN_ID: 2, OTHER_ID: 2, OFF_ID: 0}


def test_the_readers_own_timer_sends_soon_after_start_and_only_once(
    make_install: Any, collector: GACollector
) -> None:
    install: Install = make_install(cache="redis")
    children = [install.start("serve", STATS_TEST_NO_FLUSH="1", STATS_TEST_CHECK_MILLIS="100")
                for _ in range(2)]
    for child in children:
        child.expect("ready")
    _go(children)
    assert collector.wait_for(lambda c: existence_count(c, MAIN_ID) >= 1, timeout=STEP_TIMEOUT)
    for child in children:
        child.expect("ticked")  # each reader has checked the lease five times by now
    assert _sets(collector) == {MAIN_ID: 1, OTHER_ID: 1, OFF_ID: 0}
    _stop(children)
    assert _sets(collector) == {MAIN_ID: 1, OTHER_ID: 1, OFF_ID: 0}


@pytest.mark.parametrize("cache", ["redis", "locmem"])
def test_a_failed_send_gives_the_lease_back(make_install: Any, collector: GACollector, cache: str) -> None:
    install: Install = make_install(cache=cache)
    failing, retrying = install.start("serve"), install.start("serve")
    failing.expect("ready")
    retrying.expect("ready")

    collector.fail_next(1, status=400)  # not retryable: the send fails at once
    _go([failing])
    _stop([failing])
    assert existence_count(collector, MAIN_ID) == 0

    # The next cycle (here: the next process to start) finds the lease free and sends.
    _go([retrying])
    _stop([retrying])
    assert existence_count(collector, MAIN_ID) == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("failure", ["redis down", "lease table missing"])
def test_a_lease_that_cannot_be_taken_sends_nothing_and_logs_once(
    make_install: Any, collector: GACollector, tmp_path: Path, failure: str
) -> None:
    if failure == "redis down":
        install: Install = make_install(cache="redis")
        env = {"OTEL_AA_TEST_REDIS_URL": f"redis://127.0.0.1:{_closed_port()}/0"}
    else:
        install = make_install(cache="locmem", migrate=False)
        empty = tmp_path / "empty.sqlite3"
        sqlite3.connect(empty).close()  # the database is there, otel-aa's tables are not
        env = {"STATS_TEST_DB": str(empty)}
    child = install.start("serve", **env)
    child.expect("ready")
    _go([child])  # the start-up flush asks the lease
    _stop([child])  # and so does the last collection at shutdown
    assert collector.requests == []
    lease_lines = [line for line in child.stderr.splitlines() if "daily-stats lease" in line]
    assert len(lease_lines) == 1, child.stderr
    assert "Traceback" not in child.stderr


def test_payload_matches_the_design_field_by_field(make_install: Any, collector: GACollector) -> None:
    install: Install = make_install(cache="redis", AA_DOCKER_TAG="v5.5.0")
    seeded = install.run("seed", "3", "2")
    assert seeded.returncode == 0, seeded.stderr
    child = install.start("serve")
    child.expect("ready")
    _go([child])
    _stop([child])

    with sqlite3.connect(install.db) as db:
        (identifier,) = db.execute("SELECT identifier FROM otel_aa_installidentity").fetchone()

    hits = [h for h in collector.hits if h.query["measurement_id"] == MAIN_ID]
    assert hits, "no hit for the main token"
    for hit in hits:
        assert hit.query["api_secret"]
        body = hit.body
        # The install's own stable identifier (a UUID, stored as 32 hex digits by SQLite).
        assert body["client_id"].replace("-", "") == identifier.replace("-", "")
        assert body["non_personalized_ads"] is True
        assert set(body) >= {"client_id", "events", "non_personalized_ads"}

    events = stats_events(collector, MAIN_ID)
    got = sorted((e["params"]["task"], e["params"]["label"], e["params"]["value"]) for e in events)
    assert got == sorted([
        ("send_install_stats", "existence", 1),
        ("send_install_stats", "existence_docker", 1),
        ("send_install_stats", "users", 3),
        ("send_install_stats", "tokens", 2),
        # Every installed app, as AA counts them (contenttypes, auth, otel_aa, notifications,
        # eveonline, fleetpings, esi).
        ("send_install_stats", "addons", 7),
        # Non-core apps of the test site: "fleetpings" only. "notifications" and "eveonline"
        # (AA core apps that AA 5.5's own list lets through) are not extensions.
        ("send_extension_stats", "fleetpings", 1),
    ])
    for event in events:
        assert event["name"] == "celery_event"
        assert event["params"]["namespace"] == "allianceauth.analytics"
        assert isinstance(event["params"]["value"], int)
    assert not collector.invalid
