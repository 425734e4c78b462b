"""Django settings for the benchmark site; ``BENCH_VARIANT`` and ``BENCH_DIR`` select the rest."""

from __future__ import annotations

import os
from pathlib import Path

VARIANT = os.environ.get("BENCH_VARIANT", "a")
_DATA_DIR = Path(os.environ.get("BENCH_DIR", "/tmp"))

# Not a secret: a throwaway benchmark site on loopback.
SECRET_KEY = "otel-aa-bench-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost", "auth.bench.example"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "benchsite",
]
if VARIANT in {"c", "e", "f", "g"}:
    INSTALLED_APPS.append("otel_aa")

# Alliance Auth's own middleware stack (minus its project-specific ones), for every variant.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if VARIANT == "d":
    # AA 2.x/3.x put its analytics middleware last.
    MIDDLEWARE.append("aa3_middleware.AnalyticsMiddleware")

ROOT_URLCONF = "benchsite.urls"
TEMPLATES: list[dict[str, object]] = []
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _DATA_DIR / f"bench-{VARIANT}.sqlite3",
    }
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Celery (AA reads CELERY_* from Django settings); the broker is the test Redis, own prefix, DB 13.
CELERY_BROKER_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": os.environ.get("BENCH_REDIS_PREFIX", "otelaa-bench:")}
CELERY_TASK_ALWAYS_EAGER = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["stderr"], "level": "WARNING"},
    # An unreachable GA is variant (e)'s point; its one warning per window is expected, not news.
    "loggers": {"django.request": {"handlers": [], "level": "CRITICAL", "propagate": False}},
}
