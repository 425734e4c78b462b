"""GA4 destinations ("tokens") as data: a measurement id, its API secret, what it may receive.

:mod:`._tokens` loads them from arguments and settings; :mod:`._token_parse` checks one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from opentelemetry.exporter.google_analytics._events import GAEvent

__all__ = ["Token", "TokenProblem", "TokensReport", "mask_secret"]


def mask_secret(secret: object) -> str:
    """Show a secret as its first two characters and its length, e.g. ``ab…(12 chars)``.

    Short secrets (under 8 characters) and non-strings show as ``***``.
    """
    if not isinstance(secret, str) or len(secret) < 8:
        return "***"
    return f"{secret[:2]}…({len(secret)} chars)"


@dataclass(frozen=True)
class Token:
    """One GA4 destination and the streams it admits."""

    name: str
    measurement_id: str
    api_secret: str = field(repr=False)
    page_views: bool = True
    celery_events: bool = True
    daily_stats: bool = True
    ignore_paths: tuple[re.Pattern[str], ...] = ()
    #: Task events as counts per (task, result) and interval instead of one per run.
    aggregate_celery_events: bool = False

    def __repr__(self) -> str:
        return (
            f"Token(name={self.name!r}, measurement_id={self.measurement_id!r}, "
            f"api_secret={mask_secret(self.api_secret)!r}, page_views={self.page_views}, "
            f"celery_events={self.celery_events}, daily_stats={self.daily_stats}, "
            f"ignore_paths={tuple(p.pattern for p in self.ignore_paths)!r}"
            f"{', aggregate_celery_events=True' if self.aggregate_celery_events else ''})"
        )

    def admits(self, event: GAEvent) -> bool:
        """Whether ``event`` goes to this token: its stream flag is on, it is of the form of task
        events the token takes (per run or counts), and no ignore rule matches."""
        if not getattr(self, event.stream):
            return False
        if event.aggregate is not None and event.aggregate is not self.aggregate_celery_events:
            return False
        route = event.route
        # No rules, no generator: this runs once per event and token group (issue 13).
        return route is None or not self.ignore_paths or not any(p.search(route) for p in self.ignore_paths)


@dataclass(frozen=True)
class TokenProblem:
    """A token that was skipped: the setting, the token's label (name, id or ``#n``), why.

    No field holds a secret: ``text`` masks it as the log message does.
    """

    setting: str
    token: str
    text: str

    def __str__(self) -> str:
        return f"{self.setting}: token {self.token} {self.text}"


@dataclass(frozen=True)
class TokensReport:
    """What :func:`load_tokens_report` found: the usable tokens and the skipped ones."""

    tokens: list[Token]
    problems: list[TokenProblem]
