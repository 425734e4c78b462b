"""A real Alliance Auth site, made the way an admin makes one, run zero-code under otel-aa.

``allianceauth start`` generates the site in a temporary directory; ``local.py`` gets what AA's
system checks require, SQLite, the tests' Redis (with their key prefix), ``otel_aa`` and the GA
settings, as an admin would write them; ``migrate`` and ``collectstatic`` run as in AA's install
guide. Then gunicorn (two workers) and a Celery worker (``--pool=threads``) start under
``opentelemetry-instrument`` with otel-aa as configurator and distro, sending to a
:class:`GACollector` on 127.0.0.1.

Everything identifying that the test plants (user names, e-mails, passwords, the site's host,
path ids, a query string, the User-Agent, an IP, the secrets) is a *canary*: the test checks
none reaches a GA payload or otel-aa's log lines.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.google_analytics.testing import GACollector

SITE_NAME = "otelaasite"
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent

#: How long one step (a child's command, a task, a request, a shutdown) may take on a busy CI box.
STEP_TIMEOUT = 90

OWN_MEASUREMENT_ID = "G-OTELAA0TEST"
EXTENSION_APP = "fleetpings"
AA_MEASUREMENT_ID = "G-AATOKEN0TEST"


@dataclass(frozen=True)
class Canaries:
    """Values that must never reach GA or otel-aa's logs."""

    host: str = "auth.canary-corp-q7zx.example"
    site_name: str = "Canary Corp q7zx"
    admin_name: str = "canary-admin-q7zx"
    admin_email: str = "canary.admin.q7zx@example.invalid"
    admin_password: str = "Canary-Admin-Pw-q7zx-9481"
    user_name: str = "canary-pilot-q7zx"
    user_email: str = "canary.pilot.q7zx@example.invalid"
    user_password: str = "Canary-Pilot-Pw-q7zx-5127"
    user_pk: int = 734819263
    group_pk: int = 734819571
    group_name: str = "Canary Fleet q7zx"
    notification_pk: int = 734819819
    notification_title: str = "canary notification q7zx"
    missing_group_pk: int = 734819947
    query: str = "canaryq=q7zx-query-value"
    user_agent: str = "Mozilla/5.0 (canary-ua-q7zx)"
    forwarded_ip: str = "203.0.113.77"
    ga_secret: str = "canary-ga-secret-q7zx"
    aa_token_secret: str = "canary-aa-token-secret-q7zx"
    sso_secret: str = "canary-sso-secret-q7zx"
    contact_email: str = "canary.maintainer.q7zx@example.invalid"


@dataclass
class AASite:
    root: Path
    env: dict[str, str]
    canaries: Canaries
    collector: GACollector
    ids: dict[str, Any] = field(default_factory=dict)

    def run_script(self, command: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run ``site_script.py COMMAND`` in the site (its settings, its Celery app)."""
        proc = subprocess.run(
            [sys.executable, str(HERE / "site_script.py"), command],
            input=json.dumps(args or {}), cwd=self.root, env=self.env, capture_output=True,
            text=True, timeout=STEP_TIMEOUT + 30,
        )
        assert proc.returncode == 0, f"site_script {command} failed:\n{proc.stderr[-4000:]}"
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=self.root, env=self.env, capture_output=True,
            text=True, timeout=STEP_TIMEOUT * 2,
        )
        assert proc.returncode == 0, f"manage.py {' '.join(args)} failed:\n{proc.stderr[-4000:]}"
        return proc


def _local_settings(root: Path, canaries: Canaries, redis_url: str, prefix: str) -> str:
    tokens = [{"name": "own", "measurement_id": OWN_MEASUREMENT_ID, "api_secret": canaries.ga_secret}]
    return textwrap.dedent(f"""

        #######################################
        # otel-aa's real-AA test (tests/aa/conftest.py)
        #######################################
        SITE_NAME = "{canaries.site_name}"
        SITE_URL = "https://{canaries.host}"
        ALLOWED_HOSTS = [urlparse(SITE_URL).hostname]
        CSRF_TRUSTED_ORIGINS = [SITE_URL]
        ESI_SSO_CALLBACK_URL = f"{{SITE_URL}}/sso/callback"
        ESI_SSO_CLIENT_ID = "otelaa-test-sso-client"
        ESI_SSO_CLIENT_SECRET = "{canaries.sso_secret}"
        ESI_USER_CONTACT_EMAIL = "{canaries.contact_email}"
        STATIC_ROOT = "{root / 'static'}/"

        # SQLite instead of the template's MySQL; several processes share it.
        DATABASES["default"] = {{
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": "{root / 'aa.sqlite3'}",
            "OPTIONS": {{"timeout": 30, "transaction_mode": "IMMEDIATE",
                        "init_command": "PRAGMA journal_mode=WAL;"}},
        }}

        # The tests' Redis: every key carries their prefix (Celery's in celery.py).
        BROKER_URL = "{redis_url}"
        CELERY_RESULT_BACKEND = "{redis_url}"
        CACHES["default"]["LOCATION"] = "{redis_url}"
        CACHES["default"]["KEY_PREFIX"] = "{prefix}"
        # celery.py adds global_keyprefix to AA's exact priority options, which check B003 compares.
        SILENCED_SYSTEM_CHECKS = ["allianceauth.checks.B003"]

        # Plain HTTP on loopback here; in production TLS ends at the proxy in front of gunicorn.
        SESSION_COOKIE_SECURE = False
        CSRF_COOKIE_SECURE = False

        # otel_aa's and OpenTelemetry's log lines on the console too, with their logger names.
        LOGGING["loggers"]["otel_aa"] = {{"handlers": ["console"], "level": "INFO"}}
        LOGGING["loggers"]["opentelemetry"] = {{"handlers": ["console"], "level": "INFO"}}

        # An admin's own app next to AA's: an extension, for the daily stats.
        INSTALLED_APPS += ["{EXTENSION_APP}"]

        # otel-aa, as its install guide says.
        INSTALLED_APPS += ["otel_aa"]
        CELERYBEAT_SCHEDULE.pop("analytics_daily_stats", None)
        OTEL_EXPORTER_GA_TOKENS = {json.dumps(tokens)}
        """)


_CELERY_PREFIX = """

# otel-aa's real-AA test: the tests share one Redis, so every key carries their prefix.
app.conf.broker_transport_options["global_keyprefix"] = "{prefix}"
app.conf.result_backend_transport_options = {{"global_keyprefix": "{prefix}"}}
"""


@pytest.fixture(scope="module")
def ga_collector() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


@pytest.fixture(scope="module")
def aa_site(tmp_path_factory: pytest.TempPathFactory, redis_server: Any,
            ga_collector: GACollector) -> Iterator[AASite]:
    """The generated, configured and migrated site, with its users, before any process runs."""
    canaries = Canaries()
    root = tmp_path_factory.mktemp("aa") / "site"
    root.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "DJANGO_", "CELERY_"))}
    env.update({
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": str(root),
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": f"{SITE_NAME}.settings.local",
        # The collect URL by environment too: whatever else goes wrong, nothing leaves loopback.
        "OTEL_EXPORTER_GA_ENDPOINT": ga_collector.endpoint,
    })
    subprocess.run([str(BIN / "allianceauth"), "start", SITE_NAME, str(root)], cwd=root, env=env,
                   check=True, capture_output=True, timeout=STEP_TIMEOUT)
    settings_dir = root / SITE_NAME
    (root / EXTENSION_APP).mkdir()
    (root / EXTENSION_APP / "__init__.py").write_text('"""An admin\'s own Django app."""\n')
    with (settings_dir / "settings" / "local.py").open("a") as fh:
        fh.write(_local_settings(root, canaries, redis_server.url, redis_server.prefix))
    with (settings_dir / "celery.py").open("a") as fh:
        fh.write(_CELERY_PREFIX.format(prefix=redis_server.prefix))

    site = AASite(root=root, env=env, canaries=canaries, collector=ga_collector)
    site.manage("migrate", "--no-input")
    # AA's checks (the settings they require) and otel-aa's (AA's daily-stats beat entry removed).
    checked = site.manage("check").stderr
    complaints = [line for line in checked.splitlines()
                  if "allianceauth.checks.B" in line or "otel_aa." in line]
    assert not complaints, checked[-4000:]
    site.manage("collectstatic", "--no-input")
    site.ids = site.run_script("populate", {
        "admin_name": canaries.admin_name, "admin_email": canaries.admin_email,
        "admin_password": canaries.admin_password, "user_pk": canaries.user_pk,
        "user_name": canaries.user_name, "user_email": canaries.user_email,
        "user_password": canaries.user_password, "group_pk": canaries.group_pk,
        "group_name": canaries.group_name, "notification_pk": canaries.notification_pk,
        "notification_title": canaries.notification_title, "aa_token_id": AA_MEASUREMENT_ID,
        "aa_token_secret": canaries.aa_token_secret,
    })
    # The directory stays for pytest's own tmp-path retention: its logs explain a failure.
    yield site


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> int:
        """SIGTERM (a graceful stop: otel-aa flushes at exit), then wait; kill only on a hang."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout=STEP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)
            raise AssertionError(f"{self.name} did not stop within {STEP_TIMEOUT}s of SIGTERM") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace")


ZERO_CODE_ENV = {
    "OTEL_PYTHON_CONFIGURATOR": "otel_aa",
    "OTEL_PYTHON_DISTRO": "otel_aa",
    "OTEL_TRACES_EXPORTER": "ga",
    "OTEL_METRICS_EXPORTER": "ga",
    # The GA reader asks the daily-stats lease this often (ms); the first send comes soon.
    "OTEL_METRIC_EXPORT_INTERVAL": "1000",
}


@pytest.fixture(scope="module")
def aa_processes(aa_site: AASite) -> Iterator[dict[str, Any]]:
    """gunicorn (2 workers) and a Celery worker, zero-code; stopped (gracefully) by the test.

    gunicorn gets a listening socket made here (127.0.0.1, a free port): requests made before
    it is up wait in the socket's backlog, so no readiness polling is needed.
    """
    env = {**aa_site.env, **ZERO_CODE_ENV}
    instrument = str(BIN / "opentelemetry-instrument")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    procs: list[Proc] = []

    def start(name: str, argv: list[str], **kwargs: Any) -> Proc:
        log = aa_site.root / "log" / f"{name}.out"
        with log.open("wb") as fh:
            popen = subprocess.Popen([instrument, *argv], cwd=aa_site.root, env=env, stdout=fh,
                                     stderr=subprocess.STDOUT, **kwargs)
        proc = Proc(name, popen, log)
        procs.append(proc)
        return proc

    try:
        # As AA's supervisor.conf runs them (gunicorn: fewer workers; worker: as shipped).
        gunicorn = start("gunicorn", [
            "gunicorn", f"{SITE_NAME}.wsgi", "--workers=2", "--timeout", "120",
            f"--bind=fd://{listener.fileno()}", "--no-control-socket",
        ], pass_fds=(listener.fileno(),))
        worker = start("worker", [
            "celery", "-A", SITE_NAME, "worker", "--pool=threads", "--concurrency=5",
            "-n", "worker_01@otelaa-test", "--loglevel=INFO",
        ])
        listener.close()  # gunicorn holds it now
        yield {"port": port, "gunicorn": gunicorn, "worker": worker, "base_url": f"http://127.0.0.1:{port}"}
    finally:
        listener.close()
        for proc in procs:
            if proc.popen.poll() is None:
                proc.popen.kill()
                proc.popen.wait(timeout=10)
