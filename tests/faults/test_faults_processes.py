"""Process life-cycle faults with real servers: gunicorn workers replaced (HUP, a worker killed)
and Celery prefork children recycled while GA fails on and off.

The test project (``tests/_site``), its live-server fixtures and environment come from
``tests/distro/conftest.py``; GA is the loopback collector.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import requests
from distro.conftest import otel_env
from opentelemetry.exporter.google_analytics.testing import GACollector

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

MAIN = "G-MAIN0001"


@pytest.fixture
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(p) for p in text)
    return found


class _Held:
    """Requests to the test project's ``/hold/`` view, which reports the serving worker's pid."""

    def __init__(self, base: str, redis_server: Any) -> None:
        self.base = base
        self.client = redis.Redis.from_url(redis_server.url)
        self.arrived = redis_server.prefix + "hold:arrived"
        self.release = redis_server.prefix + "hold:release"

    def get(self) -> int:
        """One request; the pid of the worker that served it."""
        self.client.rpush(self.release, "go")  # let the view return at once
        response = requests.get(self.base + "/hold/", timeout=30)
        assert response.status_code == 200
        popped = self.client.blpop([self.arrived], timeout=20)
        assert popped is not None
        return int(popped[1])

    def both_workers(self) -> set[int]:
        """Two requests held at once, so served by two workers; their pids."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(requests.get, self.base + "/hold/", timeout=30) for _ in range(2)]
            popped = [self.client.blpop([self.arrived], timeout=20) for _ in range(2)]
            self.client.rpush(self.release, "go", "go")
            assert all(f.result().status_code == 200 for f in futures)
        assert None not in popped
        return {int(p[1]) for p in popped if p is not None}

    def close(self) -> None:
        self.client.delete(self.arrived, self.release)
        self.client.close()


def _held_views(ga: GACollector) -> int:
    return sum(1 for e in ga.events("page_view", MAIN) if e["params"]["page_location"].endswith("/hold/"))


def test_gunicorn_hup_and_a_killed_worker_replacements_still_export(
    gunicorn: Any,
    ga: GACollector,
    redis_server: Any,
    site_db: Path,
) -> None:
    proc, base = gunicorn(otel_env(redis_server, site_db, ga))
    master = proc.popen.pid
    held = _Held(base, redis_server)
    served: dict[int, int] = {}
    try:
        old = held.both_workers()  # two requests held at once: both sync workers are up
        assert old == _children(master)
        for pid in old:
            served[pid] = 1
        for _ in range(4):
            pid = held.get()
            served[pid] = served.get(pid, 0) + 1

        # HUP: new workers are forked from the master, the old ones stop gracefully (and flush).
        os.kill(master, signal.SIGHUP)
        new_pid = None
        for _ in range(200):  # each round is a real request; the old workers stop within it
            pid = held.get()
            served[pid] = served.get(pid, 0) + 1
            if pid not in old:
                new_pid = pid
                break
        assert new_pid is not None, "no request was served by a replacement worker after HUP"
        for _ in range(3):
            pid = held.get()
            served[pid] = served.get(pid, 0) + 1
        # Every page view so far was served by a worker that exits gracefully or still runs.
        graceful = sum(served.values())
        assert ga.wait_for(lambda c: _held_views(c) >= graceful, timeout=30), (served, proc.text()[-3000:])

        # A worker killed outright: the master forks a replacement, which must export.
        victim = new_pid
        os.kill(victim, signal.SIGKILL)
        after: dict[int, int] = {}
        for _ in range(200):
            pid = held.get()
            if pid != victim:
                after[pid] = after.get(pid, 0) + 1
            if sum(after.values()) >= 5 and any(p not in served for p in after):
                break
        replacement = [p for p in after if p not in served]
        assert replacement, "no request was served by the worker that replaced the killed one"
        expected = graceful + sum(after.values())
        assert ga.wait_for(lambda c: _held_views(c) >= expected, timeout=30), (after, proc.text()[-3000:])
    finally:
        held.close()
    log = proc.stop()
    assert ga.invalid == []
    # The killed worker's page views had all arrived before it was killed: each view exactly once.
    assert _held_views(ga) == expected, log[-2000:]


def test_recycled_celery_children_deliver_through_ga_faults(
    celery_worker: Any,
    celery_app: Any,
    ga: GACollector,
    redis_server: Any,
    site_db: Path,
) -> None:
    """Prefork, ``--max-tasks-per-child=1``: each child exports at exit, while GA fails on and off."""
    queue = f"q-{uuid.uuid4().hex[:8]}"
    env = otel_env(
        redis_server, site_db, ga, extra={"OTEL_AA_TEST_QUEUE": queue, "OTEL_BSP_SCHEDULE_DELAY": "60000"}
    )
    ga.fail_next(2, status=503)
    ga.reset_next(1)
    ga.fail_next(1, status=429, retry_after=0)
    worker = celery_worker(env, "prefork", "--concurrency=1", "--max-tasks-per-child=1")
    tasks = 4
    for i in range(tasks):
        celery_app.send_task("_site.tasks.add", args=[i, 100], queue=queue)
    # The batch delay is a minute: only each child's flush before it exits can get its event out.
    ok = ga.wait_for(lambda c: len(c.events("celery_event", MAIN)) >= tasks, timeout=120)
    log = worker.stop()
    assert ok, log[-5000:]
    values = sorted(e["params"]["value"] for e in ga.events("celery_event", MAIN))
    assert values == [100, 101, 102, 103]  # each exactly once, retried bodies not duplicated
    assert [r.status for r in ga.requests].count(503) == 2
    assert ga.invalid == []
