"""System check ``otel_aa.W101``: Alliance Auth's own daily-stats beat task is still scheduled.

Alliance Auth's ``analytics_daily_stats`` beat task would send the counts otel-aa already sends
(:mod:`otel_aa._stats`) to AA's tokens a second time: :func:`check_daily_stats_beat` warns while it
is scheduled, in the settings, the Celery app or django-celery-beat's table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from otel_aa._db import closing_connection
from otel_aa._guard import report

__all__ = ["DAILY_STATS_BEAT_TASK", "check_daily_stats_beat", "register_checks"]


DAILY_STATS_BEAT_TASK = "allianceauth.analytics.tasks.analytics_daily_stats"
_DAILY_STATS_BEAT_NAME = "analytics_daily_stats"
_SCHEDULE_SETTINGS = ("CELERYBEAT_SCHEDULE", "CELERY_BEAT_SCHEDULE")


def _scheduled_daily_stats(schedule: Any) -> list[str]:
    if not isinstance(schedule, Mapping):
        return []
    found = []
    for name, entry in schedule.items():
        task = entry.get("task") if isinstance(entry, Mapping) else None
        if name == _DAILY_STATS_BEAT_NAME or task == DAILY_STATS_BEAT_TASK:
            found.append(str(name))
    return found


def _celery_beat_schedules() -> list[Any]:
    """``beat_schedule`` of each Celery app this process set up (AA's ``myauth/celery.py``)."""
    import sys

    if "celery" not in sys.modules:
        return []
    from celery import _state

    schedules = []
    for app in list(_state._get_active_apps()):
        if app.configured or getattr(app, "_config_source", None) is not None:
            schedules.append(app.conf.get("beat_schedule"))
        else:
            # Not configured yet: only what was set on app.conf so far, without loading the
            # configuration early.
            schedules.append((getattr(app, "_preconf", None) or {}).get("beat_schedule"))
    return schedules


def _periodic_tasks(alias: str) -> list[str]:
    """Names of the enabled django-celery-beat ``PeriodicTask`` rows that run AA's daily stats.

    AA's beat scheduler (django-celery-beat's ``DatabaseScheduler``) copies ``CELERYBEAT_SCHEDULE``
    into this table at start and never deletes what the setting no longer lists, so the task keeps
    running from the database after the setting is cleaned up.
    """
    from django.apps import apps
    from django.db import DatabaseError

    if not apps.is_installed("django_celery_beat"):
        return []
    from django_celery_beat.models import PeriodicTask

    try:
        return list(
            PeriodicTask.objects.using(alias)
            .filter(task=DAILY_STATS_BEAT_TASK, enabled=True)
            .values_list("name", flat=True)
        )
    except DatabaseError:  # not migrated yet (checks run before migrate does)
        return []


def _scheduled_in_database(databases: Any) -> list[tuple[str, str]]:
    """(alias, name) of AA's task in django-celery-beat's table, on the databases to check.

    ``check --database X`` (and ``migrate``) name them; a plain ``check`` reads ``default``
    too, where AA's beat keeps its schedule, once it is reachable and migrated (a database
    that isn't, a table that doesn't exist yet, gives nothing), and closes that connection.
    """
    if databases:
        return [(alias, name) for alias in databases for name in _periodic_tasks(alias)]
    from django.apps import apps
    from django.conf import settings

    if not apps.is_installed("django_celery_beat"):
        return []
    default = (getattr(settings, "DATABASES", None) or {}).get("default", {})
    engine = str(default.get("ENGINE", ""))
    if not engine or engine.endswith(".dummy"):
        return []
    name = str(default.get("NAME", ""))
    if engine.endswith("sqlite3") and not name.startswith(("file:", ":memory:")) and not os.path.exists(name):
        return []  # connecting would create an empty database file
    try:
        with closing_connection("default"):
            return [("default", name) for name in _periodic_tasks("default")]
    except Exception as exc:  # unreachable, or not set up: not this check's to report
        from django.db import DatabaseError

        if not isinstance(exc, DatabaseError):
            report("system check: reading django-celery-beat's periodic tasks", exc)
        return []


def check_daily_stats_beat(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """System check ``otel_aa.W101``: AA's ``analytics_daily_stats`` is still scheduled.

    otel-aa sends the daily statistics itself; AA's beat task would send them to AA's tokens a
    second time. Looks at ``CELERYBEAT_SCHEDULE`` (AA's settings), ``CELERY_BEAT_SCHEDULE``, the
    configured Celery app's ``beat_schedule`` and django-celery-beat's periodic tasks: in the
    databases the check is given (``manage.py check --database default``, ``migrate``), else in
    ``default`` once it is reachable and migrated.
    """
    from django.conf import settings
    from django.core.checks import Warning as CheckWarning

    places: list[str] = []
    for setting in _SCHEDULE_SETTINGS:
        for name in _scheduled_daily_stats(getattr(settings, setting, None)):
            places.append(f"{setting}[{name!r}]")
    try:
        for schedule in _celery_beat_schedules():
            for name in _scheduled_daily_stats(schedule):
                # AA's celery.py reads CELERYBEAT_SCHEDULE into beat_schedule: say it once.
                if not any(p.endswith(f"[{name!r}]") for p in places):
                    places.append(f"Celery beat_schedule[{name!r}]")
    except Exception as exc:  # a broken Celery config is not this check's to report
        report("system check: reading Celery's beat_schedule", exc)
    for alias, name in _scheduled_in_database(kwargs.get("databases")):
        places.append(f"django-celery-beat's periodic tasks ({name!r}, database {alias!r})")
    if not places:
        return []
    return [
        CheckWarning(
            "Alliance Auth's analytics_daily_stats task is still scheduled in "
            + ", ".join(places)
            + ": otel-aa sends the daily statistics itself, so they would be sent twice.",
            hint=(
                "Remove the 'analytics_daily_stats' entry from CELERYBEAT_SCHEDULE in your "
                "settings, then delete (or disable) the 'analytics_daily_stats' periodic task in "
                "the admin (Periodic Tasks): django-celery-beat keeps its own copy in the "
                "database and does not remove it when the setting changes."
            ),
            id="otel_aa.W101",
        )
    ]


def register_checks() -> None:
    """Register :func:`check_daily_stats_beat` with Django's system checks (the AppConfig does)."""
    from django.core import checks

    checks.register(check_daily_stats_beat, checks.Tags.compatibility)
