"""Request bodies: each event serialized once, packed at most 25 events and under 130 kB a body."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from opentelemetry.exporter.google_analytics.drops import DropCounter
from opentelemetry.exporter.google_analytics.events import GAEvent
from opentelemetry.exporter.google_analytics.limits import MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST

__all__ = ["body_head", "pack_bodies", "serialize"]

# One encoder for all events: json.dumps() with options builds a new encoder per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


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


def pack_bodies(head: bytes, fragments: Iterable[bytes], drops: DropCounter) -> Iterator[tuple[bytes, int]]:
    """Request bodies of ≤25 events and < 130 kB each, from serialized events after ``head``.

    Each body comes with the number of events in it, so that a lost body is counted; an event
    too large for any body is dropped and counted in ``drops``.
    """
    tail = b"]}"
    batch: list[bytes] = []
    size = len(head) + len(tail)
    for fragment in fragments:
        extra = len(fragment) + (1 if batch else 0)
        if batch and (len(batch) >= MAX_EVENTS_PER_REQUEST or size + extra >= MAX_BODY_BYTES):
            yield head + b",".join(batch) + tail, len(batch)
            batch, size = [], len(head) + len(tail)
            extra = len(fragment)
        if size + extra >= MAX_BODY_BYTES:
            drops.add("event alone larger than a request body")
            continue
        batch.append(fragment)
        size += extra
    if batch:
        yield head + b",".join(batch) + tail, len(batch)
