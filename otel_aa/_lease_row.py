"""The daily-stats lease's database fallback: the ``StatsLease`` row, for a cache private to each process.

:class:`otel_aa._lease.DjangoLease` uses it when its cache's ``add`` is not atomic across processes
(:data:`otel_aa._lease.PER_PROCESS_CACHE_BACKENDS`). Each call opens and closes its own connection.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

from otel_aa._db import closing_connection


class _LeaseRow:
    """The ``StatsLease`` row of ``key``: read, taken, given back or renewed, one query each."""

    key: str
    using: str | None
    clock: Callable[[], float]

    @property
    def interval(self) -> float:
        """Seconds a lease lasts (the subclass resolves it)."""
        raise NotImplementedError

    def _db_lease(self) -> tuple[str | None, _dt.datetime | None]:
        from otel_aa.models import StatsLease

        alias = self._db_alias()
        with closing_connection(alias):
            row = (StatsLease.objects.using(alias).filter(key=self.key, expires_at__gt=self._now())
                   .values_list("holder", "expires_at").first())
        return (row[0], row[1]) if row else (None, None)

    def _now(self) -> _dt.datetime:
        from django.conf import settings
        from django.utils import timezone

        moment = _dt.datetime.fromtimestamp(self.clock(), tz=_dt.timezone.utc)
        if not settings.USE_TZ:
            return timezone.make_naive(moment)
        return moment

    def _db_alias(self) -> str:
        from django.db import router

        from otel_aa.models import StatsLease

        return self.using or router.db_for_write(StatsLease)

    def _db_due(self) -> bool:
        from otel_aa.models import StatsLease

        with closing_connection(self._db_alias()):
            return not StatsLease.objects.using(self._db_alias()).filter(
                key=self.key, expires_at__gt=self._now()
            ).exists()

    def _db_acquire(self, holder: str) -> bool:
        from django.db import IntegrityError, transaction

        from otel_aa.models import StatsLease

        alias = self._db_alias()
        now = self._now()
        expires = now + _dt.timedelta(seconds=self.interval)
        with closing_connection(alias):
            leases = StatsLease.objects.using(alias)
            # The database serialises the two writes: of processes racing for an expired row, the
            # UPDATE's WHERE holds for the first only; of processes racing for a missing row, the
            # primary key admits one INSERT.
            with transaction.atomic(using=alias):
                updated = leases.filter(key=self.key, expires_at__lte=now).update(
                    holder=holder, expires_at=expires
                )
            if updated:
                return True
            try:
                with transaction.atomic(using=alias):
                    leases.create(key=self.key, holder=holder, expires_at=expires)
            except IntegrityError:
                return False
            return True

    def _db_release(self, holder: str) -> None:
        from otel_aa.models import StatsLease

        alias = self._db_alias()
        with closing_connection(alias):
            StatsLease.objects.using(alias).filter(key=self.key, holder=holder).delete()

    def _db_renew(self, holder: str) -> None:
        from otel_aa.models import StatsLease

        alias = self._db_alias()
        expires = self._now() + _dt.timedelta(seconds=self.interval)
        with closing_connection(alias):
            StatsLease.objects.using(alias).update_or_create(
                key=self.key, defaults={"holder": holder, "expires_at": expires}
            )
