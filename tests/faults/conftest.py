"""The fault tests run Django in-process with the test project (``tests/_site``), as the distro's do."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "_site.settings")
import django

django.setup()

# The live-server fixtures of the test project (gunicorn, Celery worker, its migrated database).
from distro.conftest import celery_app, celery_worker, gunicorn, site_db  # noqa: E402, F401
