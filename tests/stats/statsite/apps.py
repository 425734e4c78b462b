"""Stand-in apps whose labels are what the core-app filter is tested against."""

from __future__ import annotations

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Labelled like ``allianceauth.notifications``: a core app AA 5.5's list lets through."""

    name = "statsite.notifications"
    label = "notifications"


class EveonlineConfig(AppConfig):
    """Labelled like ``allianceauth.eveonline``: the other core app AA 5.5's list lets through."""

    name = "statsite.eveonline"
    label = "eveonline"


class FleetpingsConfig(AppConfig):
    """An extension an admin installed (as ``fleetpings`` would be)."""

    name = "statsite.fleetpings"
    label = "fleetpings"
