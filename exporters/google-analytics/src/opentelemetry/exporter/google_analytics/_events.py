"""The exporter's own event type, between mapping and the Measurement Protocol payload."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal, NamedTuple

__all__ = ["STREAMS", "GAEvent", "ParamValue", "Stream"]

#: Which token flag admits an event: ``Token.page_views``, ``.celery_events`` or ``.daily_stats``.
Stream = Literal["page_views", "celery_events", "daily_stats"]
STREAMS: tuple[Stream, ...] = ("page_views", "celery_events", "daily_stats")

ParamValue = str | int | float


class GAEvent(NamedTuple):
    """One GA4 event: what goes into a payload's ``events`` list, plus routing data.

    ``stream`` names the token flag that admits the event; ``route`` is the route template a
    token's ``ignore_paths`` are matched against (``None``: no route, never ignored).
    ``aggregate`` tells the two forms of task events apart: ``False`` for one run's event,
    ``True`` for a count of runs; a token takes one form or the other (its
    ``aggregate_celery_events`` flag). ``None``: any other event, either kind of token takes it.

    Immutable; ``event._replace(field=value)`` gives a changed copy. A named tuple rather than a
    frozen dataclass because one is made per span on the export thread: a frozen dataclass's
    ``__init__`` (an ``object.__setattr__`` per field) cost five times as much (issue 13).
    """

    name: str
    params: Mapping[str, ParamValue]
    timestamp_micros: int
    stream: Stream
    route: str | None = None
    aggregate: bool | None = None

    def to_json(self) -> dict[str, object]:
        """The event as the Measurement Protocol wants it, for a JSON encoder: its ``params`` is
        the event's own dict when it is one (not a copy: once per event per request body)."""
        params = self[1]
        return {"name": self[0], "params": params if type(params) is dict else dict(params),
                "timestamp_micros": self[2]}


#: ``new_event(GAEvent, (name, params, timestamp_micros, stream, route, aggregate))``: the event,
#: without the Python frame of ``GAEvent.__new__`` (all six fields given, in order), for the
#: builders that run once per span (:func:`.mapping.span_event`).
new_event: Callable[[type[GAEvent], tuple[str, Mapping[str, ParamValue], int, Stream, str | None,
                                          bool | None]], GAEvent] = tuple.__new__
