"""The start-up and lifecycle settings (``ANALYTICS_DISABLED``, the stats interval, the flush timeout,
``OTEL_AA_OTLP_ALLOWLIST``): resolved once into :mod:`otel_aa._config`, environment > Django
setting > default, switches failing closed; every reader reads that, and ``AppConfig.ready``
resolves again."""

from __future__ import annotations

import pytest
from django.apps import apps

from otel_aa import _celery_hooks as celery_hooks
from otel_aa import _compat as compat
from otel_aa import _config as config
from otel_aa._lease import DjangoLease
from otel_aa._otlp_allowlist import otlp_allowlist_on


@pytest.mark.parametrize(("value", "disabled", "unreadable"), [
    (None, False, False), ("false", False, False), ("true", True, False),
    ("y", True, True), ("2", True, True),
])
def test_analytics_disabled_fails_closed(monkeypatch, value, disabled, unreadable) -> None:
    if value is None:
        monkeypatch.delenv("ANALYTICS_DISABLED", raising=False)
    else:
        monkeypatch.setenv("ANALYTICS_DISABLED", value)
    found = config.reload()
    assert (found.analytics_disabled, found.analytics_disabled_unreadable) == (disabled, unreadable)
    assert compat.analytics_disabled() is disabled
    assert compat.log_analytics_disabled_once() is disabled


@pytest.mark.parametrize(("value", "on"), [(None, False), ("true", True), ("off", False), ("sure", True)])
def test_the_otlp_allowlist_fails_closed(monkeypatch, value, on) -> None:
    if value is None:
        monkeypatch.delenv("OTEL_AA_OTLP_ALLOWLIST", raising=False)
    else:
        monkeypatch.setenv("OTEL_AA_OTLP_ALLOWLIST", value)
    config.reload()
    assert otlp_allowlist_on() is on


def test_resolved_once_the_environment_over_django_over_the_default(monkeypatch, settings) -> None:
    for name in ("OTEL_EXPORTER_GA_STATS_INTERVAL", "OTEL_AA_FLUSH_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    config.reload()
    assert (DjangoLease().interval, celery_hooks.flush_timeout()) == (86400.0, 10.0)
    settings.OTEL_EXPORTER_GA_STATS_INTERVAL = 3600
    settings.OTEL_AA_FLUSH_TIMEOUT = 4
    # Not seen until the settings are resolved again: nothing is read per call.
    assert (DjangoLease().interval, celery_hooks.flush_timeout()) == (86400.0, 10.0)
    config.reload()
    assert (DjangoLease().interval, celery_hooks.flush_timeout()) == (3600.0, 4.0)
    monkeypatch.setenv("OTEL_EXPORTER_GA_STATS_INTERVAL", "600")
    monkeypatch.setenv("OTEL_AA_FLUSH_TIMEOUT", "not a number")  # reported, the next source used
    config.reload()
    assert (DjangoLease().interval, celery_hooks.flush_timeout()) == (600.0, 4.0)
    assert DjangoLease(interval=5).interval == 5  # an argument wins


def test_app_ready_resolves_the_settings_again(settings) -> None:
    config.reload()
    settings.OTEL_AA_FLUSH_TIMEOUT = 7
    assert celery_hooks.flush_timeout() != 7.0
    apps.get_app_config("otel_aa").ready()
    assert celery_hooks.flush_timeout() == 7.0
