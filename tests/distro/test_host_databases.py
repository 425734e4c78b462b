"""otel-aa queries only databases the host uses: never the configured one a test runner left.

In a subprocess, the way Django's test runner does it: ``setup_databases()`` points the alias at
an in-memory test database, the host works there, ``teardown_databases()`` points it back at the
configured SQLite file, which this process never opened. Then the counts, the lease's database
fallback (a per-process cache), the admin's tokens and the identity read nothing: no error is
logged and no empty database file appears. Nor before the test database exists: connecting to
the missing configured file would create it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT, TESTS_DIR

SETTINGS = """
from _site.settings import *  # noqa: F403
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {db!r}}},
             "other": {{"ENGINE": "django.db.backends.sqlite3", "NAME": {other!r}}}}}
CACHES = {{"default": {{"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}}}
"""

PROBE = r"""
import json, os, sys
import django
django.setup()
from django.contrib.auth.models import User
from django.test.utils import setup_databases, teardown_databases
from otel_aa import _db
from otel_aa import _admin_tokens as admin_tokens
from otel_aa import _identity as identity
from otel_aa import _lease as lease
from otel_aa import _stats as stats

import sqlite3
sqlite3.connect(sys.argv[2]).close()  # "other": a database file that exists, not used yet
before = {
    "may_read": _db.may_read(),  # the configured file is missing: connecting would create it
    "identity": identity.client_id(),
    "other_may_read": _db.may_read("other"),  # exists, the host hasn't used it yet: readable
    "other_host_uses": _db.host_uses("other"),
}
config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
User.objects.create(username="pilot")
during = {
    "host_uses": _db.host_uses(),
    "count": [o.value for o in stats._count("counting users", stats._user_model)],
    "due": lease.DjangoLease().due(),
    "identity": identity.client_id() is not None,
}
teardown_databases(config, verbosity=0)
identity._reset_cache()
after = {
    "host_uses": _db.host_uses(),
    "count": [o.value for o in stats._count("counting users", stats._user_model)],
    "due": lease.DjangoLease().due(),
    "acquire": lease.DjangoLease().acquire(),
    "tokens": admin_tokens.read_tokens(),
    "identity": identity.client_id(),
    "may_read": _db.may_read(),
}
print("RESULT " + json.dumps({"before": before, "during": during, "after": after,
                              "file": os.path.exists(sys.argv[1])}))
"""


def test_nothing_queries_the_database_a_test_runner_left(tmp_path: Path) -> None:
    db = tmp_path / "configured.sqlite3"
    other = tmp_path / "other.sqlite3"
    (tmp_path / "probe_settings.py").write_text(SETTINGS.format(db=str(db), other=str(other)))
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("OTEL_", "PYTEST_"))}
    env.update(PYTHONPATH=f"{tmp_path}:{TESTS_DIR}:{ROOT}", DJANGO_SETTINGS_MODULE="probe_settings")
    done = subprocess.run([sys.executable, "-c", PROBE, str(db), str(other)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-4000:]
    result = json.loads(line[len("RESULT "):])
    assert result["before"] == {"may_read": False, "identity": None, "other_may_read": True,
                                "other_host_uses": False}
    # While the host works in its test database, otel-aa reads it.
    assert result["during"] == {"host_uses": True, "count": [1], "due": True, "identity": True}
    # Afterwards nothing is read, nothing is due, and no file was made by connecting.
    assert result["after"] == {"host_uses": False, "count": [], "due": False, "acquire": False,
                               "tokens": [], "identity": None, "may_read": False}
    assert result["file"] is False
    assert "ERROR" not in done.stderr and "otel-aa:" not in done.stderr, done.stderr[-4000:]
