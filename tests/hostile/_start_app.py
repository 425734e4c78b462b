"""Start the test project the documented way (``otel_aa.configure()`` first), serve one page with
the Django test client, flush, and print what happened as JSON. Run by ``test_hostile_settings``.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "_site.settings")

import otel_aa

otel_aa.configure()

import django  # noqa: E402

django.setup()

from django.test import Client  # noqa: E402

from otel_aa._celery_hooks import flush_providers  # noqa: E402

status = Client().get("/character/7/").status_code
flushed = flush_providers()  # OTEL_AA_FLUSH_TIMEOUT, default 10 s
print("OTEL-AA-RESULT " + json.dumps({"status": status, "flushed": flushed}))
sys.stdout.flush()
sys.stderr.flush()
# The exit handlers would flush again; what matters here was flushed (or not) above.
os._exit(0)
