"""The install's ``client_id``: settled by ``migrate`` on the host's thread, only read by otel-aa's.

Real Django, real SQLite (pytest-django's test database), real threads standing in for the
exporter's. With AA installed (subprocess, ``_site.settings_aa``) see test_compat_aa.py.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter, reload_settings

from otel_aa import _configurator as configurator
from otel_aa import _identity as identity
from otel_aa.models import InstallIdentity


@pytest.fixture(autouse=True)
def fresh_identity(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("OTEL_EXPORTER_GA_CLIENT_ID", raising=False)
    identity._reset_cache()
    yield
    identity._reset_cache()


def on_other_thread(func: Callable[[], Any]) -> Any:
    """``func()`` on a new thread, as the exporter's thread calls it."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(func()))
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive()
    return result[0]


@pytest.mark.django_db(transaction=True)
def test_migrate_settles_the_identity_and_threads_only_read_it() -> None:
    # pytest-django's migrate already ran the post_migrate handler: one row, a UUIDv4.
    (row,) = InstallIdentity.objects.all()
    assert uuid.UUID(row.identifier.hex).version == 4
    InstallIdentity.objects.all().delete()

    # No row: the export thread gets "not known yet" and writes nothing.
    assert on_other_thread(identity.client_id) is None
    assert InstallIdentity.objects.count() == 0

    call_command("migrate", verbosity=0)  # the host's command, its thread: settles it
    (row,) = InstallIdentity.objects.all()
    assert on_other_thread(identity.client_id) == row.identifier.hex

    # Cached for the process's life: a later row (or none) changes nothing.
    InstallIdentity.objects.all().delete()
    assert on_other_thread(identity.client_id) == row.identifier.hex
    call_command("migrate", verbosity=0)
    assert InstallIdentity.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_migrate_keeps_an_existing_identity() -> None:
    before = InstallIdentity.objects.get().identifier
    call_command("migrate", verbosity=0)
    assert list(InstallIdentity.objects.values_list("identifier", flat=True)) == [before]


@pytest.mark.django_db(transaction=True)
def test_a_failed_read_is_retried_and_never_switches_identity() -> None:
    stored = InstallIdentity.objects.get().identifier.hex
    table = InstallIdentity._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_away"')
    try:
        # A real database error on the reading thread: not known yet, nothing created.
        assert on_other_thread(identity.client_id) is None
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'ALTER TABLE "{table}_away" RENAME TO "{table}"')
    assert InstallIdentity.objects.count() == 1
    assert on_other_thread(identity.client_id) == stored


def _distro_exporter() -> GoogleAnalyticsSpanExporter:
    """A span exporter with the arguments the otel_aa configurator gives it."""
    args = configurator.exporter_args_map()[GoogleAnalyticsSpanExporter]
    return GoogleAnalyticsSpanExporter(tokens=[], **args)


# (id, OTEL_EXPORTER_GA_CLIENT_ID environment variable, Django setting, expected: "install" = the row)
CLIENT_ID_PRECEDENCE = [
    ("neither: the install's identifier", None, None, "install"),
    ("django setting", None, "setting-id", "setting-id"),
    ("environment", "env-id", None, "env-id"),
    ("environment beats django setting", "env-id", "setting-id", "env-id"),
    ("empty environment: django setting", "", "setting-id", "setting-id"),
    ("unreadable setting: not known, never another id", None, ["a-list"], None),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("environ", "setting", "expected"), [row[1:] for row in CLIENT_ID_PRECEDENCE],
                         ids=[row[0] for row in CLIENT_ID_PRECEDENCE])
def test_client_id_setting_works_under_the_distro(monkeypatch: pytest.MonkeyPatch, environ: str | None,
                                                  setting: Any, expected: str | None) -> None:
    if environ is not None:
        monkeypatch.setenv("OTEL_EXPORTER_GA_CLIENT_ID", environ)
    overrides = {} if setting is None else {"OTEL_EXPORTER_GA_CLIENT_ID": setting}
    install = InstallIdentity.objects.get().identifier.hex
    with override_settings(**overrides):
        exporter = _distro_exporter()
        try:
            assert exporter._pipeline is not None
            got = exporter._pipeline.client_id()
        finally:
            exporter.shutdown()
    assert got == (install if expected == "install" else expected)


@pytest.mark.django_db
def test_a_client_id_set_later_takes_over(monkeypatch: pytest.MonkeyPatch) -> None:
    install = InstallIdentity.objects.get().identifier.hex
    exporter = _distro_exporter()
    try:
        assert exporter._pipeline is not None
        assert exporter._pipeline.client_id() == install
        monkeypatch.setenv("OTEL_EXPORTER_GA_CLIENT_ID", "admin-chosen-id")
        reload_settings()  # the one moment settings are resolved again (AppConfig.ready)
        assert exporter._pipeline.client_id() == "admin-chosen-id"
    finally:
        exporter.shutdown()
