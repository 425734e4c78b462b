"""Settings of the test project; see the package docstring."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "test-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
ROOT_URLCONF = "_site.urls"
WSGI_APPLICATION = "_site.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "otel_aa",
    "_site",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "_site.middleware.TestUserMiddleware",
]

# Signed-cookie sessions: the canary session id travels in a cookie, no database table needed.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": False,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

_db = os.environ.get("OTEL_AA_TEST_DB")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": _db or ":memory:",
        "OPTIONS": {"timeout": 20},
        "TEST": {"NAME": _db} if _db else {},
    }
}

_redis = os.environ.get("OTEL_AA_TEST_REDIS_URL")
_prefix = os.environ.get("OTEL_AA_TEST_REDIS_PREFIX", "otelaa-test:")
if _redis:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _redis,
            "KEY_PREFIX": _prefix + "cache",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = _redis or "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": _prefix + "celery:"}
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

STATIC_URL = "static/"

# Everything at DEBUG to stderr with the logger's name: the canary tests read every line.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"named": {"format": "%(levelname)s %(name)s %(message)s"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "named"}},
    "root": {"handlers": ["stderr"], "level": "DEBUG"},
}
