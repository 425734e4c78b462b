"""Nothing an export thread does may be a first import: a fork meanwhile (a Celery prefork child,
a recycled gunicorn worker) would leave that module's import lock held in the child for ever."""

from __future__ import annotations

import sys

import pytest

from otel_aa import _db, apps
from otel_aa import _identity as identity


def test_what_the_export_threads_import_is_imported_at_ready() -> None:
    # AppConfig.ready ran (the distro tests' Django is set up): everything is loaded already.
    assert [name for name in apps.THREAD_IMPORTS if name not in sys.modules] == []


def test_the_test_runner_check_never_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "django.test.utils")
    assert _db._test_environment() is False
    assert "django.test.utils" not in sys.modules


def test_a_child_gets_a_free_identity_lock() -> None:
    held = identity._lock
    with held:
        identity._after_fork_in_child()  # what os.register_at_fork runs in a forked child
        assert identity._lock is not held and identity._lock.acquire(timeout=1)
        identity._lock.release()
