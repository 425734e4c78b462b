"""Which installed Django apps count as an install's extensions, as Alliance Auth's stats count them.

The daily-stats gauges (:mod:`otel_aa._stats`) report each installed app that is not in
:data:`CORE_APP_LABELS` as an extension, and the install's kind (Docker or bare metal).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from opentelemetry.exporter.google_analytics.settings import resolve

from otel_aa._host_settings import django_setting

__all__ = [
    "AA_CORE_APP_LABELS",
    "CORE_APP_LABELS",
    "DJANGO_CONTRIB_APP_LABELS",
    "INFRASTRUCTURE_APP_LABELS",
    "extension_labels",
    "install_kind",
    "installed_extensions",
]

#:
#: The first group is the list in AA 5.5's ``allianceauth/analytics/tasks.py``, written correctly:
#: there a missing comma after ``"notifications"`` joins it to ``"eveonline"`` as
#: ``"notificationseveonline"``, so AA reports both core apps as extensions. ``users``, ``addons``
#: and ``tokens`` are kept from that list although no AA 5 app has those labels, so an older app
#: that still does is counted the same way. The second group is the rest of the apps in AA's
#: project template (``INSTALLED_APPS`` of ``settings/base.py``), which AA's list predates. AA's
#: optional modules (``corputils``, ``srp``, ``discord``, ...) are features an admin chooses to
#: install, so they count as extensions, as in AA.
AA_CORE_APP_LABELS: frozenset[str] = frozenset(
    {
        # AA 5.5 analytics list (comma fixed)
        "django_celery_beat",
        "messages",
        "sessions",
        "auth",
        "staticfiles",
        "users",
        "addons",
        "admin",
        "humanize",
        "contenttypes",
        "sortedm2m",
        "django_bootstrap5",
        "tokens",
        "authentication",
        "services",
        "framework",
        "notifications",
        "eveonline",
        "navhelper",
        "analytics",
        "menu",
        "theme",
        # the rest of AA's project template
        "allianceauth",
        "admin_status",
        "groupmanagement",
        "crontab",
        "custom_css",
        "bootstrap",
        "darkly",
        "flatly",
        "materia",
    }
)

#: Django's own ``django.contrib`` apps: part of the framework, not something an admin adds.
DJANGO_CONTRIB_APP_LABELS: frozenset[str] = frozenset(
    {
        "admin",
        "admindocs",
        "auth",
        "contenttypes",
        "flatpages",
        "gis",
        "humanize",
        "messages",
        "postgres",
        "redirects",
        "sessions",
        "sitemaps",
        "sites",
        "staticfiles",
        "syndication",
    }
)

#: Third-party apps Alliance Auth itself depends on and lists in its project template, and this
#: package: infrastructure every install has, so they say nothing about what it added.
INFRASTRUCTURE_APP_LABELS: frozenset[str] = frozenset(
    {
        "django_celery_beat",
        "django_bootstrap5",
        "sortedm2m",
        "solo",  # django-solo
        "esi",  # django-esi
        "sri",  # django-sri
        "otel_aa",
    }
)

#: Every app label that is not reported as an installed extension.
CORE_APP_LABELS: frozenset[str] = AA_CORE_APP_LABELS | DJANGO_CONTRIB_APP_LABELS | INFRASTRUCTURE_APP_LABELS


def extension_labels(labels: Iterable[str]) -> list[str]:
    """The labels in ``labels`` that are not :data:`CORE_APP_LABELS`, in their order."""
    return [label for label in labels if label not in CORE_APP_LABELS]


def installed_extensions() -> list[str]:
    """Labels of the installed Django apps that are not core apps (empty before apps are ready)."""
    from django.apps import apps

    if not apps.ready:
        return []
    return extension_labels(config.label for config in apps.get_app_configs())


def install_kind() -> Literal["docker", "baremetal"]:
    """``docker`` when ``AA_DOCKER_TAG`` is set (environment, else Django setting), else ``baremetal``.

    AA's Docker images set ``AA_DOCKER_TAG``; AA's own stats read it the same way.
    """
    tag = resolve("AA_DOCKER_TAG", None, "", _parse_tag, settings=django_setting)
    return "docker" if tag else "baremetal"


def _parse_tag(value: Any) -> str:
    return str(value).strip()
