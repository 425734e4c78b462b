"""The exporter's own event type, between mapping and the Measurement Protocol payload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["STREAMS", "GAEvent", "ParamValue", "Stream"]

#: Which token flag admits an event: ``Token.page_views``, ``.celery_events`` or ``.daily_stats``.
Stream = Literal["page_views", "celery_events", "daily_stats"]
STREAMS: tuple[Stream, ...] = ("page_views", "celery_events", "daily_stats")

ParamValue = str | int | float


@dataclass(frozen=True)
class GAEvent:
    """One GA4 event: what goes into a payload's ``events`` list, plus routing data.

    ``stream`` names the token flag that admits the event; ``route`` is the route template a
    token's ``ignore_paths`` are matched against (``None``: no route, never ignored).
    ``aggregate`` tells the two forms of task events apart: ``False`` for one run's event,
    ``True`` for a count of runs; a token takes one form or the other (its
    ``aggregate_celery_events`` flag). ``None``: any other event, either kind of token takes it.
    """

    name: str
    params: Mapping[str, ParamValue]
    timestamp_micros: int
    stream: Stream
    route: str | None = None
    aggregate: bool | None = None

    def to_json(self) -> dict[str, object]:
        """The event as the Measurement Protocol wants it."""
        return {"name": self.name, "params": dict(self.params), "timestamp_micros": self.timestamp_micros}
