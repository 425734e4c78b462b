"""The demo's report: what reached the GA stand-in per token, and what the allowlist removed.

It shows; ``tests/demo`` asserts (each token got what its flags admit, no planted private value
reached GA). The one verdict here is the stand-in's own: every hit checked against GA4's
published limits by the collector's validator
(:mod:`opentelemetry.exporter.google_analytics.testing._validator`), independent of the sanitizer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from otel_aa.demo import scenario
from otel_aa.demo.play import Out, Played

__all__ = ["report"]

_STREAMS = ("page_views", "celery_events", "daily_stats")
_NOT_SHOWN = ("engagement_time_msec", "session_id")  # the same on every event: noise in a report


def report(out: Out, played: Played) -> list[str]:
    """Print the report; return the problems the stand-in found (none: the run is OK)."""
    from opentelemetry.exporter.google_analytics import mask_secret

    collector = played.collector
    out.line()
    out.line("=" * 100)
    out.line("Report: what reached the GA stand-in")
    out.line("=" * 100)
    for token in scenario.DEMO_TOKENS:
        hits = [h for h in collector.hits if h.query.get("measurement_id") == token["measurement_id"]]
        _report_token(out, token, hits, mask_secret(token["api_secret"]))
    _report_allowlist(out, played.spans)

    hits = collector.hits
    problems = []
    if not played.flushed:
        problems.append("a flush timed out")
    if not hits:
        problems.append("no hit arrived")
    invalid = [h for h in hits if h.validation]
    if invalid:
        problems.append(f"{len(invalid)} invalid hit(s)")
    refused = [h for h in collector.requests if h.status != 204]
    if refused:
        problems.append(f"{len(refused)} request(s) not accepted by the GA stand-in")
    events = sum(len(h.events) for h in hits)
    out.line()
    if problems:
        out.line(f"RESULT: FAILED: {'; '.join(problems)} ({len(hits)} hits, {events} events)")
    else:
        out.line(f"RESULT: OK: {len(hits)} hits, {events} events, every hit valid by GA4's published limits.")
    return problems


def stream_of(event: dict[str, Any]) -> str:
    """The token flag an event as sent belongs to (how the report counts them)."""
    from otel_aa._ga_mapping import STATS_NAMESPACE

    if event.get("name") == "page_view":
        return "page_views"
    if event.get("params", {}).get("namespace") == STATS_NAMESPACE:
        return "daily_stats"
    return "celery_events"


def _report_token(out: Out, token: dict[str, Any], hits: Sequence[Any], secret: str) -> None:
    flags = ", ".join(f"{flag} {'on' if token[flag] else 'off'}" for flag in _STREAMS)
    ignores = ", ".join([*token.get("ignore_paths", []), scenario.IGNORE_PATHS])
    out.line()
    out.line(f"token {token['name']!r}: {token['measurement_id']}, secret {secret}")
    out.line(f"  flags: {flags}; ignore_paths: {ignores}")
    for number, hit in enumerate(hits, 1):
        verdict = "valid" if not hit.validation else f"INVALID ({len(hit.validation)} messages)"
        out.line(f"  hit {number}: {len(hit.events)} events, {len(hit.raw)} bytes, client_id "
                 f"{hit.body.get('client_id', '?')}: {verdict}")
        for message in hit.validation:
            out.line(f"    ! {message['fieldPath']}: {message['description']} ({message['validationCode']})")
        for event in hit.events:
            params = {k: v for k, v in event.get("params", {}).items() if k not in _NOT_SHOWN}
            out.line(f"    {event.get('name', '?'):12} {'  '.join(f'{k}={v}' for k, v in params.items())}")
    got = Counter(stream_of(e) for h in hits for e in h.events)
    out.line(f"  => {len(hits)} hit(s): {', '.join(f'{got[s]} {s}' for s in _STREAMS)}")


def _report_allowlist(out: Out, spans: Sequence[Any]) -> None:
    from otel_aa import privacy

    dropped: dict[str, set[str]] = defaultdict(set)
    kept: dict[str, set[str]] = defaultdict(set)
    spans_of: Counter[str] = Counter()
    dropped_events: Counter[str] = Counter()
    resource_dropped: set[str] = set()
    for span in spans:
        attributes = dict(span.attributes or {})
        if not privacy.is_analytics_span(span.kind, attributes):
            continue
        kind = span.kind.name
        spans_of[kind] += 1
        allowed = privacy.filter_attributes(attributes)
        kept[kind].update(allowed)
        dropped[kind].update(name for name in attributes if name not in allowed)
        dropped_events.update(event.name for event in span.events)
        resource = span.resource.attributes
        resource_dropped.update(k for k in resource if k not in privacy.ALLOWED_RESOURCE_ATTRIBUTES)
    out.line()
    out.line("Privacy allowlist (otel_aa.privacy): what the spans held that GA never saw")
    for kind in sorted(spans_of):
        out.line(f"  {kind} spans ({spans_of[kind]}):")
        out.line(f"    dropped: {', '.join(sorted(dropped[kind])) or 'nothing'}")
        out.line(f"    kept:    {', '.join(sorted(kept[kind])) or 'nothing'}")
    if dropped_events:
        counted = ", ".join(f"{name} x{count}" for name, count in sorted(dropped_events.items()))
        out.line(f"  span events dropped: {counted}")
    out.line(f"  resource attributes dropped: {', '.join(sorted(resource_dropped)) or 'nothing'}")
