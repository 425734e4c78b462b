"""One process of the daily-stats test "install", driven by the test over stdin/stdout.

``python -m statsite.child MODE``, with ``PYTHONPATH`` holding ``tests/stats`` and the settings
in the environment (see :mod:`statsite.settings`). Protocol lines go to stdout; logs to stderr.

Modes:

- ``migrate``: create the tables.
- ``seed USERS TOKENS``: create that many users and (with django-esi) ESI tokens.
- ``aatoken ID SECRET SEND_STATS``: add a GA-V4 token to Alliance Auth's ``AnalyticsTokens``.
- ``periodictask NAME``: add AA's daily-stats task to django-celery-beat's periodic tasks.
- ``serve``: print ``ready``; on ``go``, start a GA metric pipeline (``GoogleAnalyticsMetricReader``
  over ``GoogleAnalyticsMetricExporter`` with :class:`otel_aa._lease.DjangoLease`), flush it once
  (a start-up send, if due; not with ``STATS_TEST_NO_FLUSH=1``) and print ``flushed``; print
  ``ticked`` once the reader's timer has asked the lease five times; on ``stop`` (or end of
  input), shut it down and print ``done`` with a JSON summary.
- ``observe``: collect the gauges twice with an in-memory reader and print them as JSON.
- ``configure``: start otel-aa the code way (``otel_aa.configure()``), print ``ready``, on
  ``flush`` flush the global meter provider and print ``flushed``, on ``stop`` shut down.
- ``beatcheck``: print the ids of the messages ``check_daily_stats_beat`` returns.

The lease's clock (database lease only) is ``time.time()`` plus the number of seconds in the file
named by ``STATS_TEST_CLOCK_FILE``, which the test moves forward.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from otel_aa._ga_mapping import AAMapping


def _clock() -> float:
    path = os.environ.get("STATS_TEST_CLOCK_FILE")
    offset = float(Path(path).read_text() or 0) if path and Path(path).exists() else 0.0
    return time.time() + offset


def _say(*parts: str) -> None:
    print(*parts, flush=True)


def _wait_for(word: str) -> bool:
    """Block until the test sends ``word``; False when it sends ``stop`` or closes stdin."""
    for line in sys.stdin:
        if line.strip() == word:
            return True
        if line.strip() == "stop":
            return False
    return False


def _setup() -> None:
    import django

    django.setup()
    # A site's process has used its database before its daily stats are due (a request, a task,
    # beat's scheduler); this stand-in only runs otel-aa, so it says so (otel_aa._db.host_uses).
    from otel_aa._db import _note_host_use

    _note_host_use()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def seed(users: int, tokens: int) -> None:
    from django.apps import apps
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    created = [user_model.objects.create(username=f"pilot{i}") for i in range(users)]
    if tokens and apps.is_installed("esi"):
        from esi.models import Token

        for i in range(tokens):
            Token.objects.create(
                user=created[i % len(created)] if created else None,
                character_id=90000000 + i,
                character_name=f"Pilot {i}",
                character_owner_hash=f"hash{i}",
                access_token="not-a-real-access-token",
                refresh_token="not-a-real-refresh-token",
            )


def aatoken(measurement_id: str, secret: str, send_stats: bool) -> None:
    """Add a GA4 token to Alliance Auth's ``AnalyticsTokens``, as an admin does in AA's admin."""
    from allianceauth.analytics.models import AnalyticsTokens

    AnalyticsTokens.objects.create(
        name="admin's own", type="GA-V4", token=measurement_id, secret=secret, send_stats=send_stats
    )


def periodictask(name: str) -> None:
    """Schedule AA's daily-stats task in django-celery-beat's table, as AA's beat does at start."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    from otel_aa._beat_check import DAILY_STATS_BEAT_TASK

    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.DAYS)
    PeriodicTask.objects.create(name=name, task=DAILY_STATS_BEAT_TASK, interval=every)


def _pipeline(check_millis: float) -> tuple[Any, Any]:
    from opentelemetry.exporter.google_analytics._metric_exporter import (
        GoogleAnalyticsMetricExporter,
        GoogleAnalyticsMetricReader,
    )
    from opentelemetry.sdk.metrics import MeterProvider

    from otel_aa import _identity as identity
    from otel_aa._configurator import user_properties
    from otel_aa._lease import DjangoLease
    from otel_aa._stats import register_gauges

    class CountingLease(DjangoLease):
        """Says ``ticked`` once the reader has asked :meth:`due` five times (its own timer)."""

        asked = 0

        def due(self) -> bool:
            answer = super().due()
            CountingLease.asked += 1
            if CountingLease.asked == 5:
                _say("ticked")
            return answer

    lease = CountingLease(clock=_clock)
    exporter = GoogleAnalyticsMetricExporter(
        mapping=AAMapping(),
        client_id=identity.client_id, user_properties=user_properties, lease=lease
    )
    reader = GoogleAnalyticsMetricReader(exporter, export_interval_millis=check_millis)
    provider = MeterProvider(metric_readers=[reader])
    register_gauges(provider)
    return provider, lease


def serve() -> None:
    check_millis = float(os.environ.get("STATS_TEST_CHECK_MILLIS", "600000"))
    _say("ready")
    if not _wait_for("go"):
        return
    provider, lease = _pipeline(check_millis)
    # Without the flush, only the reader's own timer sends (STATS_TEST_CHECK_MILLIS).
    flushed = os.environ.get("STATS_TEST_NO_FLUSH") == "1" or provider.force_flush(timeout_millis=30_000)
    _say("flushed")
    _wait_for("stop")
    provider.shutdown(timeout_millis=30_000)
    _say("done", json.dumps({"pid": os.getpid(), "flushed": flushed, "backend": lease.backend}))


def observe() -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from otel_aa._stats import register_gauges

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    register_gauges(provider)
    register_gauges(provider)  # idempotent: no doubled points
    rounds = []
    for _ in range(2):
        data = reader.get_metrics_data()
        found: dict[str, Any] = {}
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    found[metric.name] = {
                        "unit": metric.unit,
                        "description": metric.description,
                        "scope": sm.scope.name,
                        "points": [
                            {"value": p.value, "attributes": dict(p.attributes or {})}
                            for p in metric.data.data_points
                        ],
                    }
        rounds.append(found)
    provider.shutdown()
    _say(json.dumps(rounds))


def configure() -> None:
    from opentelemetry import metrics
    from opentelemetry.exporter.google_analytics import GoogleAnalyticsMetricReader

    import otel_aa._configurator as configurator

    configurator.configure()
    _say("ready")
    provider: Any = metrics.get_meter_provider()
    assert GoogleAnalyticsMetricReader.running(), "otel_aa.configure() set up no GA metric reader"
    for line in sys.stdin:
        if line.strip() == "flush":
            # The SDK gave the GA reader to the provider: the provider's flush reaches it (it sends
            # the stats when the lease says they are due), as otel-aa's hooks flush.
            provider.force_flush(timeout_millis=30_000)
            _say("flushed")
        elif line.strip() == "stop":
            break
    provider.shutdown()
    assert not GoogleAnalyticsMetricReader.running(), "the provider's shutdown left the GA reader running"
    _say("done")


def beatcheck() -> None:
    from otel_aa._beat_check import DAILY_STATS_BEAT_TASK, check_daily_stats_beat

    if os.environ.get("STATS_TEST_CELERY_BEAT") == "1":
        # A project whose Celery app schedules AA's task itself, under another entry name.
        from celery import Celery

        app = Celery("statsite", set_as_current=True)
        app.conf.beat_schedule = {"nightly": {"task": DAILY_STATS_BEAT_TASK, "schedule": 3600}}

    messages = check_daily_stats_beat(None)
    _say(json.dumps([{"id": m.id, "msg": m.msg, "hint": m.hint} for m in messages]))


def main(argv: list[str]) -> None:
    mode = argv[0]
    _setup()
    if mode == "migrate":
        migrate()
    elif mode == "seed":
        seed(int(argv[1]), int(argv[2]))
    elif mode == "aatoken":
        aatoken(argv[1], argv[2], argv[3] == "1")
    elif mode == "periodictask":
        periodictask(argv[1])
    elif mode == "serve":
        serve()
    elif mode == "observe":
        observe()
    elif mode == "configure":
        configure()
    elif mode == "beatcheck":
        beatcheck()
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
