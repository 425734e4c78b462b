"""The demo's fleet app."""

from __future__ import annotations

from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "otel_aa.demo.fleet"
    label = "demo_fleet"
    verbose_name = "Demo fleets"
