"""Fixtures for the distro's tests: the test project (``tests/_site``), GA and OTLP on loopback,
and live gunicorn / Celery processes started zero-code.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "_site.settings")
# pytest-django reads DJANGO_SETTINGS_MODULE before this file is imported (unless the ini or the
# command line set it): set the test project up here, once, for everyone.
import django

django.setup()

TESTS_DIR = Path(__file__).resolve().parent.parent
ROOT = TESTS_DIR.parent
BIN = Path(sys.executable).parent

#: A token whose secret is itself a canary, and one that ignores the "ignored/" route.
TOKENS = [
    {"name": "main", "measurement_id": "G-MAIN0001", "api_secret": "canarysecret-zq7xk"},
    {"name": "picky", "measurement_id": "G-PICKY002", "api_secret": "canarysecret-zq7xk",
     "ignore_paths": ["^/ignored/"]},
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def ga():
    from opentelemetry.exporter.google_analytics.testing import GACollector

    with GACollector() as collector:
        yield collector


@pytest.fixture
def otlp():
    sys.path.insert(0, str(TESTS_DIR))
    from _otlp_receiver import OTLPReceiver

    with OTLPReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def site_db(tmp_path_factory: pytest.TempPathFactory, redis_server) -> Path:
    """A migrated SQLite file for the subprocesses of the test project."""
    path = tmp_path_factory.mktemp("site") / "site.sqlite3"
    env = base_env(redis_server, path)
    subprocess.run([str(BIN / "django-admin"), "migrate", "--noinput", "-v", "0"], env=env, check=True,
                   cwd=ROOT, timeout=120)
    return path


def base_env(redis_server, db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTEST_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(ROOT)]),
        DJANGO_SETTINGS_MODULE="_site.settings",
        OTEL_AA_TEST_DB=str(db),
        OTEL_AA_TEST_REDIS_URL=redis_server.url,
        OTEL_AA_TEST_REDIS_PREFIX=redis_server.prefix,
        PYTHONUNBUFFERED="1",
    )
    return env


def otel_env(redis_server, db: Path, ga, otlp=None, *, semconv: str | None = None,
             extra: dict[str, str] | None = None) -> dict[str, str]:
    env = base_env(redis_server, db)
    env.update(
        OTEL_PYTHON_CONFIGURATOR="otel_aa",
        OTEL_PYTHON_DISTRO="otel_aa",
        OTEL_TRACES_EXPORTER="ga,otlp" if otlp is not None else "ga",
        OTEL_METRICS_EXPORTER="none",
        OTEL_EXPORTER_GA_ENDPOINT=ga.endpoint,
        OTEL_EXPORTER_GA_TOKENS=json.dumps(TOKENS),
        OTEL_EXPORTER_GA_VALIDATE="false",
        OTEL_BSP_SCHEDULE_DELAY="200",
        OTEL_SERVICE_NAME="canary-service-zq7xk",
        OTEL_PYTHON_DJANGO_EXCLUDED_URLS="healthz",
    )
    if otlp is not None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.endpoint
    if semconv:
        env["OTEL_SEMCONV_STABILITY_OPT_IN"] = semconv
    env.update(extra or {})
    return env


@dataclass
class Proc:
    popen: subprocess.Popen
    log: Path

    def stop(self, timeout: float = 30) -> str:
        """Graceful stop (SIGTERM, wait): lets the process flush; returns its whole log."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return self.text()

    def text(self) -> str:
        return self.log.read_text(errors="replace")


def start(cmd: list[str], env: dict[str, str], log: Path) -> Proc:
    handle = log.open("wb")
    popen = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return Proc(popen, log)


def wait_listening(proc: Proc, port: int, timeout: float = 60) -> None:
    """Wait until ``port`` accepts connections (the child's own start-up; not test synchronisation)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise AssertionError(f"process exited early:\n{proc.text()[-4000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"port {port} never opened:\n{proc.text()[-4000:]}")


@pytest.fixture
def gunicorn(tmp_path: Path, redis_server, site_db):
    """Start the test project under gunicorn (2 sync workers) zero-code; stop it gracefully after."""
    started: list[Proc] = []

    def run(env: dict[str, str], *, zero_code: bool = True) -> tuple[Proc, str]:
        port = free_port()
        cmd = [str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "20",
               "--log-level", "debug", "_site.wsgi"]
        if zero_code:
            cmd = [str(BIN / "opentelemetry-instrument"), *cmd]
        proc = start(cmd, env, tmp_path / f"gunicorn-{len(started)}.log")
        started.append(proc)
        wait_listening(proc, port)
        return proc, f"http://127.0.0.1:{port}"

    try:
        yield run
    finally:
        for proc in started:
            proc.stop()


@pytest.fixture
def celery_worker(tmp_path: Path, redis_server, site_db):
    """Start a Celery worker of the test project zero-code; stop it gracefully after."""
    started: list[Proc] = []

    def run(env: dict[str, str], pool: str, *extra: str, zero_code: bool = True) -> Proc:
        cmd = [str(BIN / "celery"), "-A", "_site", "worker", f"--pool={pool}", "--loglevel=DEBUG",
               "--without-gossip", "--without-mingle", "--without-heartbeat",
               "-Q", env["OTEL_AA_TEST_QUEUE"], "-n", f"w{len(started)}@%h", *extra]
        if zero_code:
            cmd = [str(BIN / "opentelemetry-instrument"), *cmd]
        proc = start(cmd, env, tmp_path / f"celery-{pool}-{len(started)}.log")
        started.append(proc)
        return proc

    try:
        yield run
    finally:
        for proc in started:
            proc.stop()


@pytest.fixture
def celery_app(redis_server):
    """The test project's Celery app as a client (sending tasks), on the test Redis and prefix."""
    os.environ["OTEL_AA_TEST_REDIS_URL"] = redis_server.url
    os.environ["OTEL_AA_TEST_REDIS_PREFIX"] = redis_server.prefix
    from celery import Celery

    app = Celery("_site_client", broker=redis_server.url)
    app.conf.broker_transport_options = {"global_keyprefix": redis_server.prefix + "celery:"}
    app.conf.task_ignore_result = True
    try:
        yield app
    finally:
        app.close()
