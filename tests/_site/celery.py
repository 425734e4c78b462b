"""The Celery app (``celery -A _site worker``)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "_site.settings")

if os.environ.get("OTEL_AA_TEST_CODE_START") == "1":
    import otel_aa

    otel_aa.configure()

app = Celery("_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["_site"])
