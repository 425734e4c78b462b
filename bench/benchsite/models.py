"""Alliance Auth 3.x's analytics tables, re-declared for the AA 3.x-style comparison middleware."""

from __future__ import annotations

import uuid

from django.db import models


class AnalyticsPath(models.Model):
    ignore_path = models.CharField(max_length=254)


class AnalyticsTokens(models.Model):
    name = models.CharField(max_length=254)
    type = models.CharField(max_length=254, default="GA-V4")
    token = models.CharField(max_length=254)
    secret = models.CharField(max_length=254, blank=True)
    send_page_views = models.BooleanField(default=True)
    send_celery_tasks = models.BooleanField(default=True)
    send_stats = models.BooleanField(default=True)
    ignore_paths = models.ManyToManyField(AnalyticsPath, blank=True)


class AnalyticsIdentifier(models.Model):
    identifier = models.UUIDField(default=uuid.uuid4, editable=False)
