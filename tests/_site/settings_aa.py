"""The test project with Alliance Auth's analytics app installed (for otel_aa._compat's tests)."""

from __future__ import annotations

from _site.settings import *  # noqa: F403
from _site.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "solo", "allianceauth.analytics"]
