"""Each process says at start what it sends to GA, or why nothing; removing the app stops GA.

The live tests start gunicorn (2 forked workers), a Celery worker and beat zero-code, as the
README's supervisor lines do, and read their logs; the others call :func:`otel_aa._startup.describe`
under each reason GA can be off.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from otel_aa import _config as config
from otel_aa import _startup as startup

from .conftest import BIN, TOKENS, Proc, otel_env, start

START_LINE = re.compile(r"^INFO otel_aa otel-aa: sending .* to Google Analytics at ", re.M)
OFF_LINE = "otel-aa: nothing is sent to Google Analytics from this process: "
NO_APP = "'otel_aa' is not in INSTALLED_APPS, so this process sends nothing to Google Analytics"


def _wait_log(proc: Proc, done: Callable[[str], bool], timeout: float = 60) -> str:
    """Wait until the child's log satisfies ``done`` (its own start-up; not test synchronisation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = proc.text()
        if done(text):
            return text
        if proc.popen.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"the log never got there:\n{proc.text()[-4000:]}")


def _booted_workers(log: str) -> int:
    return len(re.findall(r"Booting worker with pid", log))


# --- live processes -------------------------------------------------------------------------------

@pytest.mark.slow
def test_each_gunicorn_worker_logs_its_own_start_line(gunicorn, ga, redis_server, site_db) -> None:
    proc, _ = gunicorn(otel_env(redis_server, site_db, ga))
    log = _wait_log(proc, lambda t: _booted_workers(t) == 2 and len(START_LINE.findall(t)) == 2)
    log = proc.stop()
    # One line per worker (the master never sets Django up, so it says nothing), and each says
    # which tokens get which streams, where, and how: the ids in full, never a secret.
    lines = [line for line in log.splitlines() if START_LINE.match(line)]
    assert len(lines) == _booted_workers(log) == 2, lines
    host = ga.endpoint.split("//", 1)[1].split("/", 1)[0]
    for line in lines:
        assert f"sending page views and Celery events to Google Analytics at {host}, collecting;" in line
        assert "'main' (G-MAIN0001: page_views, celery_events)" in line
        assert "'picky' (G-PICKY002: page_views, celery_events)" in line
        assert "daily stats" not in line  # OTEL_METRICS_EXPORTER is none in this environment
    assert str(TOKENS[0]["api_secret"]) not in log


@pytest.fixture
def beat(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], Proc]]:
    started: list[Proc] = []

    def run(env: dict[str, str]) -> Proc:
        cmd = [str(BIN / "opentelemetry-instrument"), str(BIN / "celery"), "-A", "_site", "beat",
               "--loglevel=INFO", "-s", str(tmp_path / "beat-schedule")]
        proc = start(cmd, env, tmp_path / f"beat-{len(started)}.log")
        started.append(proc)
        return proc

    try:
        yield run
    finally:
        for proc in started:
            proc.stop()


@pytest.mark.slow
def test_celery_worker_and_beat_each_log_one_start_line(celery_worker, beat, ga, redis_server,
                                                        site_db) -> None:
    env = otel_env(redis_server, site_db, ga, extra={
        "OTEL_AA_TEST_QUEUE": f"q-{uuid.uuid4().hex[:8]}", "OTEL_METRICS_EXPORTER": "ga",
        "OTEL_EXPORTER_GA_VALIDATE": "true",
    })
    procs = {"worker": celery_worker(env, "threads", "--concurrency=2"), "beat": beat(env)}
    for name, proc in procs.items():
        _wait_log(proc, lambda t: bool(START_LINE.search(t)))
        log = proc.stop()
        (line,) = [x for x in log.splitlines() if START_LINE.match(x)]
        assert "sending page views, Celery events and daily stats to" in line, (name, line)
        assert "GA's validation server (nothing recorded)" in line, (name, line)
        assert "'main' (G-MAIN0001: page_views, celery_events, daily_stats)" in line, (name, line)


@pytest.mark.slow
def test_each_prefork_child_logs_its_own_line(celery_worker, ga, redis_server, site_db) -> None:
    env = otel_env(redis_server, site_db, ga, extra={"OTEL_AA_TEST_QUEUE": f"q-{uuid.uuid4().hex[:8]}"})
    worker = celery_worker(env, "prefork", "--concurrency=2")
    # The parent (Django set up by Celery's fixup) and each forked child say it once.
    _wait_log(worker, lambda t: len(START_LINE.findall(t)) == 3 and " ready." in t)
    log = worker.stop()
    assert len(START_LINE.findall(log)) == 3, log[-3000:]


@pytest.mark.slow
def test_without_the_app_gunicorn_sends_nothing_to_ga_and_says_so(gunicorn, ga, redis_server,
                                                                   site_db) -> None:
    proc, base = gunicorn(otel_env(redis_server, site_db, ga,
                                   extra={"DJANGO_SETTINGS_MODULE": "_site.settings_noapp"}))
    for _ in range(3):
        assert requests.get(f"{base}/", timeout=10).status_code == 200
    # Each worker that exported warns once, at its first export; then the processes stop.
    _wait_log(proc, lambda t: NO_APP in t)
    log = proc.stop()
    assert 1 <= log.count(NO_APP) <= 2, log[-3000:]
    assert not ga.requests  # the pages were served and counted nowhere
    assert not START_LINE.search(log)


@pytest.mark.slow
def test_without_the_app_a_celery_worker_warns_at_start_and_sends_nothing(celery_worker, celery_app, ga,
                                                                          redis_server, site_db) -> None:
    queue = f"q-{uuid.uuid4().hex[:8]}"
    env = otel_env(redis_server, site_db, ga, extra={"OTEL_AA_TEST_QUEUE": queue,
                                                     "DJANGO_SETTINGS_MODULE": "_site.settings_noapp"})
    worker = celery_worker(env, "threads", "--concurrency=1")
    _wait_log(worker, lambda t: NO_APP in t)  # at start: before any task ran
    celery_app.send_task("_site.tasks.add", args=[2, 3], queue=queue)
    _wait_log(worker, lambda t: "succeeded in" in t)
    log = worker.stop()
    assert log.count(NO_APP) == 1, log[-3000:]
    assert not ga.requests


@pytest.mark.slow
def test_analytics_event_without_otel_aa_started_warns_once(redis_server, site_db, tmp_path) -> None:
    from .conftest import base_env

    script = ("from otel_aa import analytics_event\n"
              "analytics_event('myapp', 'one')\nanalytics_event('myapp', 'two')\nprint('done')\n")
    proc = start([str(BIN / "django-admin"), "shell", "-c", script], base_env(redis_server, site_db),
                 tmp_path / "shell.log")
    assert proc.popen.wait(timeout=120) == 0, proc.text()
    log = proc.text()
    assert "done" in log
    assert log.count("analytics_event() was called in a process where otel-aa isn't started") == 1, log


# --- what the line says ---------------------------------------------------------------------------

@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("OTEL_EXPORTER_GA_TOKENS", "OTEL_EXPORTER_GA_MEASUREMENT_ID", "OTEL_EXPORTER_GA_API_SECRET",
                 "OTEL_EXPORTER_GA_ENDPOINT", "OTEL_EXPORTER_GA_VALIDATE", "ANALYTICS_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "ga")
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "ga")
    monkeypatch.setenv("OTEL_EXPORTER_GA_TOKENS", json.dumps(TOKENS[:1]))
    monkeypatch.setitem(startup._state, "installed", None)
    yield monkeypatch


def test_the_line_names_tokens_streams_host_and_mode(fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("OTEL_EXPORTER_GA_ENDPOINT", "https://proxy-user:proxy-pass@collect.example:8443/mp/collect")
    fresh.setenv("OTEL_EXPORTER_GA_TOKENS", json.dumps([
        {"name": "site", "measurement_id": "G-SITE00001", "api_secret": "site-secret-7g2kd9",
         "celery_events": False},
    ]))
    level, line = startup.describe()
    assert level == logging.INFO
    assert line == ("otel-aa: sending page views, Celery events and daily stats to Google Analytics at "
                    "collect.example:8443, collecting; tokens 'site' (G-SITE00001: page_views, daily_stats), "
                    "plus the tokens kept in the admin.")
    assert "proxy-pass" not in line and "proxy-user" not in line and "site-secret" not in line


def test_skipped_tokens_are_counted_and_a_typo_in_an_id_is_shown(fresh: pytest.MonkeyPatch) -> None:
    fresh.setenv("OTEL_EXPORTER_GA_VALIDATE", "true")
    fresh.setenv("OTEL_EXPORTER_GA_TOKENS", json.dumps([
        *TOKENS[:1], {"name": "typo", "measurement_id": "G-TYPO0001X!", "api_secret": "typo-secret-9d8s7"},
    ]))
    _, line = startup.describe()
    assert "GA's validation server (nothing recorded)" in line
    assert "1 token(s) skipped" in line
    assert "typo-secret" not in line


@pytest.mark.parametrize("env,reason", [
    ({"ANALYTICS_DISABLED": "true"}, "ANALYTICS_DISABLED is set."),
    ({"OTEL_EXPORTER_GA_ENDPOINT": "ftp://collect.example/mp/collect"},
     "OTEL_EXPORTER_GA_ENDPOINT is invalid"),
    ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "none"},
     "'ga' is in neither OTEL_TRACES_EXPORTER nor OTEL_METRICS_EXPORTER."),
], ids=["disabled", "endpoint", "no-ga-exporter"])
def test_when_ga_is_off_the_line_says_why(fresh: pytest.MonkeyPatch, env: dict[str, str],
                                          reason: str) -> None:
    for name, value in env.items():
        fresh.setenv(name, value)
    config.reload()  # the distro's settings are resolved once (otel_aa._config)
    _, line = startup.describe()
    assert line.startswith(OFF_LINE) and reason in line, line


def test_no_token_in_the_settings_is_said(fresh: pytest.MonkeyPatch) -> None:
    fresh.delenv("OTEL_EXPORTER_GA_TOKENS")
    _, line = startup.describe()
    assert "no token in the settings, only those kept in the admin, if any" in line


def test_without_the_app_the_line_says_so_and_the_lease_is_never_due(
        fresh: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from otel_aa._lease import DjangoLease

    fresh.setitem(startup._state, "installed", False)
    fresh.setitem(startup._state, "warned_pid", None)
    level, line = startup.describe()
    assert level == logging.WARNING and line == OFF_LINE + "'otel_aa' is not in INSTALLED_APPS."
    with caplog.at_level(logging.WARNING, logger="otel_aa"):
        assert startup.ga_blocked()
        assert DjangoLease(key=f"startup-test-{uuid.uuid4().hex}").due() is False
    # Said once, though both the span path and the lease asked.
    assert len([r for r in caplog.records if NO_APP in r.getMessage()]) == 1
