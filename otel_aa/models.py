"""Database state otel-aa keeps where Alliance Auth's own tables can't serve."""

from __future__ import annotations

import uuid

from django.db import models

#: What the aggregation switch does, in the admin's words (both admins show it).
AGGREGATE_HELP = ("Send this token's Celery events as counts: one event per task and result every "
                  "interval (OTEL_EXPORTER_GA_TASK_INTERVAL, 60 s by default), with the number of "
                  "runs as its value, instead of one event per run. Needs Celery events on.")


class InstallIdentity(models.Model):
    """The install's random GA ``client_id`` when Alliance Auth's ``AnalyticsIdentifier`` is absent.

    One row per install; :mod:`otel_aa._identity` creates it on first use.
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


class GAToken(models.Model):
    """A GA4 destination managed in otel-aa's admin, for sites without Alliance Auth's tokens.

    With AA installed, AA's own ``AnalyticsTokens`` (with :class:`AATokenSwitches`) serve instead.
    """

    name = models.CharField(max_length=100)
    measurement_id = models.CharField(max_length=30, help_text="The GA4 web stream's id, G-...")
    api_secret = models.CharField(max_length=100, help_text="The stream's Measurement Protocol "
                                  "API secret (never shown in full after saving)")
    page_views = models.BooleanField(default=True)
    celery_events = models.BooleanField(default=True)
    aggregate_celery_events = models.BooleanField("Celery events as counts", default=False,
                                                  help_text=AGGREGATE_HELP)
    daily_stats = models.BooleanField(default=True)
    ignore_paths = models.TextField(
        blank=True, help_text="Regular expressions, one per line: page views whose route matches "
                              "one are not sent to this token")

    class Meta:
        verbose_name = "Google Analytics token"

    def __str__(self) -> str:
        return self.name


class AATokenSwitches(models.Model):
    """otel-aa's switches for one of Alliance Auth's ``AnalyticsTokens`` (daily stats stay AA's).

    Keyed by the AA token's id rather than a foreign key: otel-aa's tables must migrate on sites
    without AA. A token without a row sends no page views and no Celery events.
    """

    aa_token_id = models.PositiveIntegerField(unique=True)
    page_views = models.BooleanField(default=False)
    celery_events = models.BooleanField(default=False)
    aggregate_celery_events = models.BooleanField(default=False, help_text=AGGREGATE_HELP)
    ignore_paths = models.TextField(blank=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "otel-aa switches of an Alliance Auth analytics token"
        verbose_name_plural = "otel-aa switches of Alliance Auth analytics tokens"

    def __str__(self) -> str:
        return f"switches of analytics token #{self.aa_token_id}"


class Deliveries(models.Model):
    """No table: the admin entry of the "what left this server" page (read from the cache)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_deliveries", "Can view what left this server for Google Analytics")]
        verbose_name = "what left this server"
        verbose_name_plural = "what left this server"
