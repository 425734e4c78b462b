"""Load time of the admin's "what left this server" page with 10,000 recorded hits.

A real Django (admin, Alliance Auth's analytics app, otel-aa) on SQLite, Django's cache on Redis
(as Alliance Auth has it), the page fetched with Django's test client as a superuser. The ledger
first records ``--hits`` request bodies of 25 events each, spread over ``--tokens`` tokens (the
export threads' work: the time per recorded hit is printed too); then the page is fetched
``--repeat`` times, beside the same page with nothing recorded.

    .venv/bin/python bench/bench_admin_page.py [--hits 10000] [--tokens 5] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
PREFIX = f"otelaa-bench-admin-{uuid.uuid4().hex[:8]}:"
EVENT_NAMES = ["page_view", "celery_event", "corp_report", "fleet_ping", "sov_timer"]


def _setup(db: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False, SECRET_KEY="bench-only", ALLOWED_HOSTS=["*"], USE_TZ=True,
        ROOT_URLCONF=__name__, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                        "django.contrib.sessions", "django.contrib.messages", "solo",
                        "allianceauth.analytics", "otel_aa"],
        MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                    "django.contrib.auth.middleware.AuthenticationMiddleware",
                    "django.contrib.messages.middleware.MessageMiddleware"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
                    "OPTIONS": {"context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages"]}}],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                            "LOCATION": REDIS_URL, "KEY_PREFIX": PREFIX}},
        STATIC_URL="static/",
    )
    django.setup()


def _urls() -> list[object]:
    from django.contrib import admin
    from django.urls import path

    return [path("admin/", admin.site.urls)]


def __getattr__(name: str) -> object:  # ROOT_URLCONF is this module, read after setup
    if name == "urlpatterns":
        return _urls()
    raise AttributeError(name)


def _body(i: int) -> bytes:
    events = [{"name": EVENT_NAMES[(i + j) % len(EVENT_NAMES)],
               "params": {"page_location": "https://aa.invalid/character/<int:character_id>/",
                          "page_title": "authentication:dashboard", "engagement_time_msec": 1,
                          "session_id": "1796140800"}, "timestamp_micros": 1796140800000000 + j}
              for j in range(25)]
    return json.dumps({"client_id": str(uuid.UUID(int=i)), "non_personalized_ads": True,
                       "user_properties": {}, "events": events}, separators=(",", ":")).encode()


def _page_times(client: object, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get("/admin/otel_aa/deliveries/")  # type: ignore[attr-defined]
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hits", type=int, default=10_000)
    parser.add_argument("--tokens", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup(os.path.join(tmp, "bench.sqlite3"))
        from django.contrib.auth.models import User
        from django.core.cache import cache
        from django.core.management import call_command
        from django.test import Client
        from opentelemetry.exporter.google_analytics._tokens import Token

        from otel_aa._ledger import ledger

        call_command("migrate", verbosity=0)
        client = Client()
        client.force_login(User.objects.create_superuser("bench", "bench@example.invalid", "x"))
        try:
            _page_times(client, 2)  # templates compiled, connections open
            empty = _page_times(client, args.repeat)
            tokens = [Token(f"bench-{n}", f"G-BENCH{n:04d}", f"bench-secret-{n:010d}")
                      for n in range(args.tokens)]
            bodies = [_body(i) for i in range(64)]
            start = time.perf_counter()
            for i in range(args.hits):
                outcome = "failed" if i % 50 == 49 else "sent"
                ledger.on_delivery(tokens[i % len(tokens)], bodies[i % len(bodies)], outcome,
                                   "HTTP 503, gave up after 4 attempt(s)" if outcome == "failed" else None)
            record = time.perf_counter() - start
            full = _page_times(client, args.repeat)
            size = len(client.get("/admin/otel_aa/deliveries/").content)
        finally:
            keys = cache._cache.get_client(write=True).keys(f"{PREFIX}*")
            if keys:
                cache._cache.get_client(write=True).delete(*keys)
    ms = 1e3
    print(f"what-left page, {args.repeat} loads each (Django test client, cache on Redis {REDIS_URL}):")
    print(f"  nothing recorded:            median {statistics.median(empty) * ms:7.1f} ms")
    print(f"  {args.hits:,} hits over {args.tokens} tokens: median {statistics.median(full) * ms:7.1f} ms"
          f" (max {max(full) * ms:.1f} ms, page {size / 1024:.0f} kB), "
          f"ratio {statistics.median(full) / statistics.median(empty):.2f}x")
    print(f"  recording, on the export thread: {record / args.hits * 1e6:.0f} µs per hit "
          f"({args.hits:,} in {record:.1f} s)")


if __name__ == "__main__":
    sys.exit(main())
