"""Fixtures for the admin tests: a real browser (Debian's chromium under Playwright), the test
project with Django's admin and AA's analytics app (``_site.settings_admin``) run zero-code under
gunicorn and Celery, and a real Redis cache for the ledger.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "_site.settings")
import django

django.setup()

TESTS_DIR = Path(__file__).resolve().parent.parent
ROOT = TESTS_DIR.parent
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")

sys.path.insert(0, str(ROOT / "exporters" / "google-analytics" / "tests"))
from ga_test_support import SpanFactory  # noqa: E402  (the exporter's own test helpers)
from opentelemetry.exporter.google_analytics.testing import GACollector  # noqa: E402


@pytest.fixture
def ga() -> Any:
    """A loopback GA (the exporter's collector), for the admin tests that send."""
    with GACollector() as collector:
        yield collector


@pytest.fixture
def spans() -> Any:
    """Spans as the instrumentations make them (the exporter tests' factory)."""
    factory = SpanFactory()
    yield factory
    factory.provider.shutdown()
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

#: Users the site script creates: a superuser, a staff member without the deliveries permission,
#: and a user who isn't staff.
USERS = {"boss": "Boss-Pw-4471-admin", "clerk": "Clerk-Pw-8812-staff", "pilot": "Pilot-Pw-3390-user"}


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium: installed with apt when missing and we are root (a fresh CI machine)."""
    if not CHROMIUM.exists():
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            pytest.fail(f"{CHROMIUM} is missing; install Debian's chromium (apt-get install chromium)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends",
                                            "chromium"]):
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode != 0:
                pytest.fail(f"{' '.join(cmd)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        if not CHROMIUM.exists():
            pytest.fail(f"apt-get installed chromium but {CHROMIUM} is still missing")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("playwright is missing: install the test extra (pip install -e '.[test]')")
    return CHROMIUM


@pytest.fixture
def browser(chromium: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def redis_cache(redis_server: Any) -> Any:
    """A Django cache on the tests' Redis, with a prefix of its own (deleted with the rest)."""
    from django.core.cache.backends.redis import RedisCache

    return RedisCache(redis_server.url, {"KEY_PREFIX": f"{redis_server.prefix}ledger-{uuid.uuid4().hex[:6]}"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def site_env(redis_server: Any, db: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "PYTEST_"))}
    env.pop("ANALYTICS_DISABLED", None)
    env.update(PYTHONPATH=os.pathsep.join([str(TESTS_DIR), str(ROOT)]),
               DJANGO_SETTINGS_MODULE="_site.settings_admin", OTEL_AA_TEST_DB=str(db),
               OTEL_AA_TEST_REDIS_URL=redis_server.url, OTEL_AA_TEST_REDIS_PREFIX=redis_server.prefix,
               PYTHONUNBUFFERED="1", **extra)
    return env


_SEED = """
import django
django.setup()
from django.contrib.auth.models import Permission, User
from django.core.management import call_command
call_command("migrate", verbosity=0)
users = %r
User.objects.create_superuser("boss", "boss@example.invalid", users["boss"])
clerk = User.objects.create_user("clerk", "clerk@example.invalid", users["clerk"], is_staff=True)
clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_analyticstokens",
                                                                    "view_gatoken"]))
User.objects.create_user("pilot", "pilot@example.invalid", users["pilot"])
"""


def seed_site(env: dict[str, str]) -> None:
    """Migrate the site's database and create :data:`USERS`."""
    done = subprocess.run([sys.executable, "-c", _SEED % (USERS,)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-4000:]


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 30) -> str:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        return self.log.read_text(errors="replace")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[Proc]]:
    """Processes a test starts; each is stopped gracefully (SIGTERM, so it flushes) at the end."""
    started: list[Proc] = []
    try:
        yield started
    finally:
        for proc in started:
            proc.stop()


def start(started: list[Proc], cmd: list[str], env: dict[str, str], log: Path) -> Proc:
    handle = log.open("wb")
    proc = Proc(subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT), log)
    handle.close()
    started.append(proc)
    return proc


def wait_listening(proc: Proc, port: int, timeout: float = 90) -> None:
    """Wait for the child to listen (its own start-up, not test synchronisation)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise AssertionError(f"process exited early:\n{proc.log.read_text(errors='replace')[-4000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"port {port} never opened:\n{proc.log.read_text(errors='replace')[-4000:]}")
