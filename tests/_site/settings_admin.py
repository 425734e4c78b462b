"""The test project with Django's admin and Alliance Auth's analytics app (tests/admin)."""

from __future__ import annotations

import os

from _site.settings import *  # noqa: F403
from _site.settings import INSTALLED_APPS, TEMPLATES

_WITH_AA = os.environ.get("OTEL_AA_TEST_WITHOUT_AA") != "1"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.messages",
    *INSTALLED_APPS,
    *(["solo", "allianceauth.analytics"] if _WITH_AA else []),
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "_site.urls_admin"
TEMPLATES = [{
    **TEMPLATES[0],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
