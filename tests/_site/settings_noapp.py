"""The test project without the ``otel_aa`` app: the README's opt-out (tests/distro/test_startup_line.py)."""

from __future__ import annotations

from _site.settings import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "otel_aa"]  # noqa: F405
