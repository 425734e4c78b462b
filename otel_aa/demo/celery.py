"""The demo's Celery app: an in-process broker and result store, as a test bench would use.

An Alliance Auth install has the same file (``myauth/celery.py``) with Redis as the broker.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otel_aa.demo.settings")

app = Celery("otel_aa_demo")
app.conf.update(
    broker_url="memory://",
    result_backend="cache+memory://",
    task_default_queue="demo",
    worker_hijack_root_logger=False,
    worker_send_task_events=False,
    broker_connection_retry_on_startup=True,
)
app.autodiscover_tasks(["otel_aa.demo.fleet"], force=True)
