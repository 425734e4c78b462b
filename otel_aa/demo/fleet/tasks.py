"""Celery tasks of the demo's fleet app: one succeeds with a count, one fails, one retries once.

Their arguments and the failure's message carry canary values that must never reach GA.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task


class RosterUnavailableError(Exception):
    """ESI did not answer; only this class name may reach GA, never the message."""


@shared_task
def count_fleet_members(fleet_key: str) -> int:
    """Succeeds with an integer: GA gets it as the event's ``value``."""
    return 12


@shared_task
def sync_corporation_roster(character_name: str) -> None:
    """Fails: GA gets the exception's class name as ``result``."""
    raise RosterUnavailableError(f"ESI refused the token of {character_name}")


@shared_task(bind=True, max_retries=1)
def refresh_fleet_motd(self: Any, fleet_key: str) -> int:
    """Retries once, then succeeds: the retry itself is not an event, the success is."""
    if self.request.retries == 0:
        raise self.retry(countdown=0)
    return 1
