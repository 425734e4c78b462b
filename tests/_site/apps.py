from __future__ import annotations

from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "_site"
    label = "test_site"
