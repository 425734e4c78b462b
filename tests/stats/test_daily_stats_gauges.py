"""The daily-stats gauges: names, units, values from real Django models, the core-app filter,
a database that is down or not migrated, and the system check for AA's old beat entry.

Django-dependent checks run in a child process of the test site (``statsite``), so they don't
depend on, or disturb, how this pytest process has Django configured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _stats_support import Install

from otel_aa import _app_labels as app_labels
from otel_aa import _beat_check as beat_check
from otel_aa import _lease as lease
from otel_aa import _stats as stats

#: ``INSTALLED_APPS`` labels of Alliance Auth 5.5's project template (``settings/base.py``).
AA_TEMPLATE_LABELS = [
    "allianceauth", "admin", "auth", "contenttypes", "sessions", "messages", "staticfiles",
    "humanize", "django_celery_beat", "solo", "django_bootstrap5", "sortedm2m", "esi", "framework",
    "admin_status", "authentication", "services", "eveonline", "groupmanagement", "notifications",
    "navhelper", "analytics", "menu", "theme", "darkly", "flatly", "materia", "custom_css", "crontab",
    "sri",
]


def test_the_two_core_apps_aa_5_5_lets_through_are_filtered() -> None:
    # AA 5.5 writes "notifications" "eveonline" without a comma between them: Python joins them
    # into one string, so neither label matches and both are reported as extensions.
    aa_55_buggy_list = ["services", "framework", "notifications" "eveonline", "navhelper"]
    assert "notifications" not in aa_55_buggy_list and "eveonline" not in aa_55_buggy_list
    assert {"notifications", "eveonline"} <= app_labels.AA_CORE_APP_LABELS
    assert app_labels.extension_labels(["notifications", "eveonline", "fleetpings"]) == ["fleetpings"]


def test_a_stock_aa_install_has_no_extensions_and_added_apps_count() -> None:
    assert app_labels.extension_labels(AA_TEMPLATE_LABELS) == []
    added = ["corputils", "discord", "memberaudit", "structures"]
    assert app_labels.extension_labels(AA_TEMPLATE_LABELS + added + ["otel_aa"]) == added


def test_core_app_constants_are_public_and_combined() -> None:
    assert app_labels.CORE_APP_LABELS == (
        app_labels.AA_CORE_APP_LABELS
        | app_labels.DJANGO_CONTRIB_APP_LABELS
        | app_labels.INFRASTRUCTURE_APP_LABELS
    )
    assert {"CORE_APP_LABELS", "AA_CORE_APP_LABELS"} <= set(app_labels.__all__)
    assert {"DjangoLease"} <= set(lease.__all__)
    assert {"register_gauges"} <= set(stats.__all__)
    assert {"check_daily_stats_beat"} <= set(beat_check.__all__)


def _observe(install: Install, **env: str) -> tuple[list[dict[str, Any]], str]:
    result = install.run("observe", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def test_gauges_follow_otel_naming_with_units_and_descriptions(make_install: Any) -> None:
    install: Install = make_install(esi=True)
    assert install.run("seed", "4", "3").returncode == 0
    rounds, stderr = _observe(install)
    assert "Traceback" not in stderr
    first, second = rounds
    assert first.keys() == second.keys()
    units = {name: metric["unit"] for name, metric in first.items()}
    assert units == {
        "aa.install.existence": "1",
        "aa.users": "{user}",
        "aa.esi.tokens": "{token}",
        "aa.apps": "{app}",
        "aa.app.installed": "1",
        # aa.version is there only where Alliance Auth's version is known
        **({"aa.version": "1"} if "aa.version" in first else {}),
    }
    for name, metric in first.items():
        assert metric["description"], name
        assert metric["scope"] == "otel_aa.stats"
        assert name == name.lower() and " " not in name
    # One point each (registering twice added nothing), from the real models.
    assert first["aa.users"]["points"] == [{"value": 4, "attributes": {}}]
    assert first["aa.esi.tokens"]["points"] == [{"value": 3, "attributes": {}}]
    assert first["aa.install.existence"]["points"] == [
        {"value": 1, "attributes": {"aa.install.kind": "baremetal"}}
    ]
    assert first["aa.apps"]["points"] == [{"value": 7, "attributes": {}}]  # every app, as AA counts
    assert first["aa.app.installed"]["points"] == [{"value": 1, "attributes": {"aa.app.label": "fleetpings"}}]


def test_docker_kind_and_no_esi_gauge_points_without_esi(make_install: Any) -> None:
    install: Install = make_install(esi=False)
    rounds, _ = _observe(install, AA_DOCKER_TAG="v5.5.0")
    first = rounds[0]
    assert first["aa.install.existence"]["points"] == [
        {"value": 1, "attributes": {"aa.install.kind": "docker"}}
    ]
    assert "aa.esi.tokens" not in first or first["aa.esi.tokens"]["points"] == []
    assert first["aa.users"]["points"] == [{"value": 0, "attributes": {}}]


@pytest.mark.parametrize("database", ["down", "not migrated"])
def test_a_database_down_or_not_migrated_skips_the_counts_and_logs_once(
    make_install: Any, tmp_path: Path, database: str
) -> None:
    install: Install = make_install(esi=True, migrate=False)
    if database == "down":
        path = tmp_path / "no-such-directory" / "db.sqlite3"  # SQLite can't open it
    else:
        import sqlite3

        path = tmp_path / "empty.sqlite3"
        sqlite3.connect(path).close()  # a database without any table
    rounds, stderr = _observe(install, STATS_TEST_DB=str(path))
    for found in rounds:
        # The counts are skipped; what needs no database is still observed.
        assert found.get("aa.users", {"points": []})["points"] == []
        assert found.get("aa.esi.tokens", {"points": []})["points"] == []
        assert found["aa.install.existence"]["points"][0]["value"] == 1
        assert found["aa.apps"]["points"] == [{"value": 7, "attributes": {}}]  # every app, as AA counts
    # Two collections, one log line per count: type only, no exception text, no traceback.
    users_lines = [line for line in stderr.splitlines() if "counting users" in line]
    tokens_lines = [line for line in stderr.splitlines() if "counting ESI tokens" in line]
    assert len(users_lines) == 1 and len(tokens_lines) == 1, stderr
    assert "OperationalError" in users_lines[0]
    assert "Traceback" not in stderr
    assert str(path) not in stderr


def test_beat_check_warns_while_aa_daily_stats_is_scheduled(make_install: Any) -> None:
    install: Install = make_install(migrate=False)

    def messages(**env: str) -> list[dict[str, Any]]:
        result = install.run("beatcheck", **env)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    assert messages() == []
    (warning,) = messages(STATS_TEST_BEAT="1")
    assert warning["id"] == "otel_aa.W101"
    assert "CELERYBEAT_SCHEDULE['analytics_daily_stats']" in warning["msg"]
    assert "CELERYBEAT_SCHEDULE" in warning["hint"]
    (warning,) = messages(STATS_TEST_CELERY_BEAT="1")
    assert "beat_schedule['nightly']" in warning["msg"]


def test_manage_py_check_shows_the_beat_warning(make_install: Any) -> None:
    install: Install = make_install(migrate=False)
    clean = install.run("django", "check")
    assert "otel_aa.W101" not in clean.stdout + clean.stderr
    scheduled = install.run("django", "check", STATS_TEST_BEAT="1")
    assert "otel_aa.W101" in scheduled.stdout + scheduled.stderr, scheduled.stderr


def test_beat_check_finds_the_task_django_celery_beat_kept_in_the_database(make_install: Any) -> None:
    pytest.importorskip("django_celery_beat")
    install: Install = make_install(STATS_TEST_CELERY_BEAT_DB="1")
    # The setting was cleaned up, but the scheduler's copy of the entry is still in the table.
    # A plain `check` reads the default database (migrated here); `--database` names it.
    assert install.run("periodictask", "analytics_daily_stats").returncode == 0
    for args in ((), ("--database", "default")):
        result = install.run("django", "check", *args)
        output = result.stdout + result.stderr
        assert "otel_aa.W101" in output, (args, output)
        assert "django-celery-beat's periodic tasks ('analytics_daily_stats', database 'default')" in output


def test_plain_check_before_migrate_reads_no_table(make_install: Any) -> None:
    pytest.importorskip("django_celery_beat")
    install: Install = make_install(migrate=False, STATS_TEST_CELERY_BEAT_DB="1")
    # No table yet: the check says nothing of it and fails nothing (migrate runs checks first).
    result = install.run("django", "check", STATS_TEST_CELERY_BEAT_DB="1")
    assert result.returncode == 0, result.stderr
    assert "otel_aa.W101" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
