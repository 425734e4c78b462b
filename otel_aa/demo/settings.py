"""Django settings for the embedded demo site.

Everything lives in the directory named by ``OTEL_AA_DEMO_DIR`` (the demo runner makes a
temporary one), so the demo writes nothing into the work tree.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_DATA_DIR = Path(os.environ.get("OTEL_AA_DEMO_DIR") or tempfile.gettempdir())

# Not a secret: the demo site only ever runs inside one process, on throwaway data.
SECRET_KEY = "otel-aa-demo-not-secret"
DEBUG = False
# The demo's requests carry a made-up host name as a canary; it must never reach GA.
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost", "auth.canary-corp.example"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "otel_aa",
    "otel_aa.demo.fleet",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]

ROOT_URLCONF = "otel_aa.demo.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).resolve().parent / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"context_processors": []},
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _DATA_DIR / "demo.sqlite3",
    }
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Keep the demo's console for the demo's own progress lines.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": [], "level": "CRITICAL", "propagate": False},
        "otel_aa": {"handlers": ["console"], "level": "WARNING"},
        "opentelemetry": {"handlers": ["console"], "level": "WARNING"},
    },
}
