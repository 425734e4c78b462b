"""``DjangoLease.schedule()``: the last and the next daily-stats send, for the command and the admin."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.test import override_settings

from otel_aa._lease import DjangoLease, LeaseSchedule

START = 1_800_000_000.25  # a fixed clock: 2027-01-15 08:00:00.25 UTC
PER_PROCESS = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                           "LOCATION": "lease-schedule"}}


def _lease(**kwargs: object) -> DjangoLease:
    return DjangoLease(interval=3600, key=f"schedule-{uuid.uuid4().hex}", clock=lambda: START, **kwargs)


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


@pytest.mark.django_db
@pytest.mark.parametrize("use_tz", [True, False], ids=["aware", "naive-local-time"])
def test_the_database_lease_gives_both_times_in_utc(use_tz: bool) -> None:
    # A per-process cache puts the lease in the database; with USE_TZ off its row holds the
    # site's local time (here UTC+2), which schedule() gives back as UTC.
    with override_settings(CACHES=PER_PROCESS, USE_TZ=use_tz, TIME_ZONE="Europe/Helsinki"):
        lease = _lease()
        assert lease.backend == "database"
        assert lease.schedule() == LeaseSchedule(due=True, last_send=None, next_due=None)
        assert lease.acquire()
        schedule = lease.schedule()
    assert schedule == LeaseSchedule(due=False, last_send=_utc(START), next_due=_utc(START + 3600))
    assert schedule is not None and schedule.next_due is not None and schedule.next_due.tzinfo is not None


def test_the_cache_lease_gives_both_times(redis_server) -> None:
    shared = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": redis_server.url, "KEY_PREFIX": redis_server.prefix + "schedule"}}
    with override_settings(CACHES=shared):
        lease = _lease()
        assert lease.backend == "cache"
        assert lease.schedule() == LeaseSchedule(due=True, last_send=None, next_due=None)
        try:
            assert lease.renew()  # as `otel_aa_stats --send` does
            assert lease.schedule() == LeaseSchedule(due=False, last_send=_utc(START),
                                                     next_due=_utc(START + 3600))
        finally:
            lease.release()
        assert lease.schedule() == LeaseSchedule(due=True, last_send=None, next_due=None)


@pytest.mark.guard_expected
def test_an_unreadable_lease_is_none_not_an_error(guard_reraises: list[BaseException]) -> None:
    down = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": "redis://127.0.0.1:1/0", "OPTIONS": {"socket_connect_timeout": 1}}}
    with override_settings(CACHES=down):
        assert _lease().schedule() is None
    assert guard_reraises, "the failed read was reported"
