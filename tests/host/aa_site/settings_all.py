"""AA's ``tests/settings_all.py``, rebuilt from the wheel's project template.

The template's base settings, every optional app and service module, eager Celery, the MD5
hasher and ``LOGGING = None``, as AA's own CI runs its suite. What is this harness's own: the
database file, the Redis URL and the cache prefix come from the environment (each run has its
own), plain static files storage (no ``collectstatic`` in a test run), the settings AA's system
checks require, ``otel_aa`` in ``INSTALLED_APPS`` for the otel-aa runs (as the README says), and
a runner that records each test's outcome.
"""

import os

from allianceauth.project_template.project_name.settings.base import *  # noqa: F403
from allianceauth.project_template.project_name.settings.base import CACHES, INSTALLED_APPS, STORAGES

SECRET_KEY = "otel-aa host-suite key, not a secret"
DEBUG = False
SITE_URL = "http://127.0.0.1"
CSRF_TRUSTED_ORIGINS = [SITE_URL]

CELERY_ALWAYS_EAGER = True  # AA's own test settings: tasks run in the test's thread
CELERY_TASK_ALWAYS_EAGER = True
BROKER_URL = os.environ.get("AA_SUITE_REDIS", "redis://127.0.0.1:6379/14")

INSTALLED_APPS = [
    *INSTALLED_APPS,
    "allianceauth.eveonline.autogroups",
    "allianceauth.hrapplications",
    "allianceauth.timerboard",
    "allianceauth.srp",
    "allianceauth.optimer",
    "allianceauth.corputils",
    "allianceauth.fleetactivitytracking",
    "allianceauth.permissions_tool",
    "allianceauth.services.modules.mumble",
    "allianceauth.services.modules.discord",
    "allianceauth.services.modules.discourse",
    "allianceauth.services.modules.ips4",
    "allianceauth.services.modules.openfire",
    "allianceauth.services.modules.smf",
    "allianceauth.services.modules.phpbb3",
    "allianceauth.services.modules.xenforo",
    "allianceauth.services.modules.teamspeak3",
    "django_webtest",
]
if os.environ.get("AA_SUITE_OTEL_AA"):
    INSTALLED_APPS.append("otel_aa")

# No collectstatic in a test run: the manifest storage would fail every page that links a file.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}

ROOT_URLCONF = "aa_site.urls"
TEST_RUNNER = "aa_site.runner.RecordingRunner"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("AA_SUITE_DB", "/nonexistent/aa-suite.sqlite3"),
    },
}
CACHES = {**CACHES, "default": {**CACHES["default"], "LOCATION": BROKER_URL,
                                "KEY_PREFIX": os.environ.get("AA_SUITE_PREFIX", "aa-suite")}}

# What AA's and django-esi's system checks require of every site.
ESI_SSO_CLIENT_ID = "test-client-id"
ESI_SSO_CLIENT_SECRET = "test-client-secret"
ESI_SSO_CALLBACK_URL = "http://127.0.0.1/sso/callback"
ESI_USER_CONTACT_EMAIL = "maintainer@example.invalid"

XENFORO_ENDPOINT = "example.com/api.php"
XENFORO_DEFAULT_GROUP = 0
XENFORO_APIKEY = "yourapikey"

JABBER_URL = "example.com"
JABBER_PORT = 5223
JABBER_SERVER = "example.com"
OPENFIRE_ADDRESS = "http://example.com:9090"
OPENFIRE_SECRET_KEY = "somekey"
BROADCAST_USER = "broadcast@" + JABBER_URL
BROADCAST_USER_PASSWORD = "somepassword"
BROADCAST_SERVICE_NAME = "broadcast"

MUMBLE_URL = "example.com"
MUMBLE_SERVER_ID = 1

PHPBB3_URL = ""

TEAMSPEAK3_SERVER_IP = "127.0.0.1"
TEAMSPEAK3_SERVER_PORT = 10011
TEAMSPEAK3_SERVERQUERY_USER = "serveradmin"
TEAMSPEAK3_SERVERQUERY_PASSWORD = "passwordhere"
TEAMSPEAK3_VIRTUAL_SERVER = 1
TEAMSPEAK3_PUBLIC_URL = "example.com"

DISCORD_GUILD_ID = "0118999"
DISCORD_BOT_TOKEN = "bottoken"
DISCORD_INVITE_CODE = "invitecode"
DISCORD_APP_ID = "appid"
DISCORD_APP_SECRET = "secret"
DISCORD_CALLBACK_URL = "http://example.com/discord/callback"
DISCORD_SYNC_NAMES = False

DISCOURSE_URL = "https://example.com"
DISCOURSE_API_USERNAME = ""
DISCOURSE_API_KEY = ""
DISCOURSE_SSO_SECRET = "d836444a9e4084d5b224a60c208dce14"

IPS4_URL = "http://example.com/ips4"
IPS4_API_KEY = ""

SMF_URL = ""

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGGING = None
