"""WSGI entry point; with ``OTEL_AA_TEST_CODE_START=1`` it starts otel-aa from code, as documented."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "_site.settings")

if os.environ.get("OTEL_AA_TEST_CODE_START") == "1":
    import otel_aa

    otel_aa.configure()

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
