"""Database state otel-aa keeps where Alliance Auth's own tables can't serve."""

from __future__ import annotations

import uuid

from django.db import models


class InstallIdentity(models.Model):
    """The install's random GA ``client_id`` when Alliance Auth's ``AnalyticsIdentifier`` is absent.

    One row per install; :mod:`otel_aa.identity` creates it on first use.
    """

    identifier = models.UUIDField(default=uuid.uuid4, editable=False, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "install identity"

    def __str__(self) -> str:
        return str(self.identifier)


class StatsLease(models.Model):
    """The daily-stats lease, in the database, for installs whose cache is per process.

    A row with ``key`` whose ``expires_at`` lies in the future means a send is done or under way.
    """

    key = models.CharField(max_length=100, primary_key=True)
    holder = models.CharField(max_length=100)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "daily-stats lease"

    def __str__(self) -> str:
        return f"{self.key} until {self.expires_at:%Y-%m-%d %H:%M:%S}"
