"""Settings of the daily-stats test site, read from the environment the test gives each child.

- ``STATS_TEST_DB``: the SQLite file (shared by the processes of one "install"), unless
  ``STATS_TEST_MYSQL_DB`` names a database on the machine's MariaDB (127.0.0.1, root).
- ``STATS_TEST_CACHE``: ``redis`` (default; ``OTEL_AA_TEST_REDIS_URL`` and a key prefix from
  ``OTEL_AA_TEST_REDIS_PREFIX`` plus ``STATS_TEST_INSTALL``) or ``locmem`` (per process: the
  lease falls back to the database).
- ``STATS_TEST_ESI``: ``1`` to install django-esi.
- ``STATS_TEST_AA``: ``1`` to install Alliance Auth's analytics app.
- ``STATS_TEST_CELERY_BEAT_DB``: ``1`` to install django-celery-beat.
- ``STATS_TEST_BEAT``: ``1`` to keep AA's ``analytics_daily_stats`` in ``CELERYBEAT_SCHEDULE``.
The exporter's own settings (``OTEL_EXPORTER_GA_*``) come straight from the environment.
"""

from __future__ import annotations

import os

SECRET_KEY = "statsite-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "otel_aa",
    "statsite.apps.NotificationsConfig",
    "statsite.apps.EveonlineConfig",
    "statsite.apps.FleetpingsConfig",
]
if os.environ.get("STATS_TEST_ESI") == "1":
    INSTALLED_APPS.append("esi")
    # django-esi's system checks want an SSO application; nothing here talks to EVE's servers.
    ESI_SSO_CLIENT_ID = "statsite"
    ESI_SSO_CLIENT_SECRET = "statsite-not-secret"
    ESI_SSO_CALLBACK_URL = "http://127.0.0.1/sso/callback"
    ESI_USER_CONTACT_EMAIL = "nobody@invalid.example"

if os.environ.get("STATS_TEST_AA") == "1":
    # Alliance Auth's analytics app (its AnalyticsIdentifier and AnalyticsTokens), on its own.
    INSTALLED_APPS += ["solo", "allianceauth.analytics"]

if os.environ.get("STATS_TEST_CELERY_BEAT_DB") == "1":
    # django-celery-beat, whose DatabaseScheduler AA's beat runs on.
    INSTALLED_APPS += ["django_celery_beat"]

if os.environ.get("STATS_TEST_MYSQL_DB"):
    # The machine's MariaDB, as many AA installs run; a database made for this test. The driver
    # is PyMySQL (pure Python: the test extra installs no mysqlclient, which builds from C source)
    # standing in for MySQLdb; Django 5.2 refuses a MySQLdb older than 2.2.1, and PyMySQL's
    # version_info is its own idea of the mysqlclient it imitates, so it is raised to that.
    import pymysql

    pymysql.version_info = max(tuple(pymysql.version_info), (2, 2, 1, "final", 0))
    pymysql.install_as_MySQLdb()
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "NAME": os.environ["STATS_TEST_MYSQL_DB"],
            "HOST": "127.0.0.1",
            "PORT": os.environ.get("STATS_TEST_MYSQL_PORT", "3306"),
            "USER": "root",
            "OPTIONS": {"charset": "utf8mb4", "connect_timeout": 5},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ["STATS_TEST_DB"],
            # Processes racing for the lease queue on SQLite's write lock instead of failing.
            "OPTIONS": {"timeout": 20},
        }
    }

if os.environ.get("STATS_TEST_CACHE", "redis") == "locmem":
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    CACHES = {
        "default": {
            # What Alliance Auth configures.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": os.environ["OTEL_AA_TEST_REDIS_URL"],
            "KEY_PREFIX": os.environ["OTEL_AA_TEST_REDIS_PREFIX"] + os.environ.get("STATS_TEST_INSTALL", ""),
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }

if os.environ.get("STATS_TEST_BEAT") == "1":
    CELERYBEAT_SCHEDULE = {
        "analytics_daily_stats": {
            "task": "allianceauth.analytics.tasks.analytics_daily_stats",
            "schedule": 86400,
        },
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "formatters": {"plain": {"format": "LOG %(levelname)s %(name)s %(message)s"}},
    "loggers": {
        "otel_aa": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "opentelemetry": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}
