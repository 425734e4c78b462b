"""Request bodies: at most 25 events and under 130 kB each, one JSON encode per body.

The common body (25 small events, a few kB) is encoded in one call (:func:`pack_events`). Only
when a body would not fit, or an event can't be encoded, do the events from there on go one by
one (:func:`pack_bodies`): each is encoded alone, so a body is filled up to the size limit and
an unencodable event costs only itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from opentelemetry.exporter.google_analytics._drops import DropCounter
from opentelemetry.exporter.google_analytics._events import GAEvent
from opentelemetry.exporter.google_analytics._limits import MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST

__all__ = ["body_head", "pack_bodies", "pack_events", "serialize"]

# One encoder for all events: json.dumps() with options builds a new encoder per call. No
# circular-reference check (a set insert and removal per event and params dict): what is encoded
# is sanitized, its values strings and numbers, with no container to recur into (issue 13).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, check_circular=False)
_TAIL = b"]}"


def serialize(event: GAEvent) -> bytes:
    """``event`` as the JSON bytes of one entry of a body's ``events``."""
    return _ENCODER.encode(event.to_json()).encode()


def body_head(client_id: str | None, user_properties: Mapping[str, Any]) -> bytes:
    """A body up to its events: the identity, no ads personalisation, consent denied."""
    return json.dumps({
        "client_id": client_id,
        "non_personalized_ads": True,
        "consent": {"ad_user_data": "DENIED", "ad_personalization": "DENIED"},
        "user_properties": user_properties,
    }, separators=(",", ":")).encode()[:-1] + b',"events":['


def _whole(head: bytes, events: Sequence[GAEvent]) -> bytes | None:
    """``events`` as one body, encoded at once; ``None`` if it is too large or can't be encoded."""
    try:
        encoded = _ENCODER.encode([event.to_json() for event in events]).encode()
    except (TypeError, ValueError):  # UnicodeEncodeError is a ValueError
        return None
    # ``[...]`` replaces the head's opening bracket; the closing one is the tail's.
    body = head + encoded[1:] + b"}"
    return body if len(body) < MAX_BODY_BYTES else None


def _fragments(events: Iterable[GAEvent], drops: DropCounter, counted: set[int]) -> Iterator[bytes]:
    for event in events:
        try:
            yield serialize(event)
        except (TypeError, ValueError) as exc:
            if id(event) not in counted:  # once per event, however many bodies it was meant for
                counted.add(id(event))
                drops.add(f"event could not be serialized ({type(exc).__name__})")


def pack_events(head: bytes, events: Sequence[GAEvent], drops: DropCounter,
                counted: set[int] | None = None) -> list[tuple[bytes, int]]:
    """The request bodies for ``events`` after ``head``, each with the number of events in it.

    ``counted``: the ids of events whose loss was counted already (shared by the calls of one
    delivery, so an event meant for several tokens is counted once).
    """
    bodies = []
    start, total = 0, len(events)
    while start < total:
        chunk = events[start:start + MAX_EVENTS_PER_REQUEST]
        body = _whole(head, chunk)
        if body is None:
            break
        bodies.append((body, len(chunk)))
        start += len(chunk)
    if start < total:
        rest = _fragments(events[start:], drops, counted if counted is not None else set())
        bodies.extend(pack_bodies(head, rest, drops))
    return bodies


def pack_bodies(head: bytes, fragments: Iterable[bytes], drops: DropCounter) -> Iterator[tuple[bytes, int]]:
    """Request bodies of ≤25 events and < 130 kB each, from serialized events after ``head``.

    Each body comes with the number of events in it, so that a lost body is counted; an event
    too large for any body is dropped and counted in ``drops``.
    """
    batch: list[bytes] = []
    size = len(head) + len(_TAIL)
    for fragment in fragments:
        extra = len(fragment) + (1 if batch else 0)
        if batch and (len(batch) >= MAX_EVENTS_PER_REQUEST or size + extra >= MAX_BODY_BYTES):
            yield head + b",".join(batch) + _TAIL, len(batch)
            batch, size = [], len(head) + len(_TAIL)
            extra = len(fragment)
        if size + extra >= MAX_BODY_BYTES:
            drops.add("event alone larger than a request body")
            continue
        batch.append(fragment)
        size += extra
    if batch:
        yield head + b",".join(batch) + _TAIL, len(batch)
