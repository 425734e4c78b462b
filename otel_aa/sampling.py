"""Sampling that can't thin GA's counts.

A sampler chosen for the admin's own backend (``OTEL_TRACES_SAMPLER=parentbased_traceidratio``)
or a client's ``traceparent`` header with the sampled flag off would otherwise decide whether a
page view or task event reaches GA. :class:`AnalyticsSampler` asks the configured sampler first
and, where it says DROP for a span GA counts, records the span anyway without sampling it
(``RECORD_ONLY``): exporters behind a plain ``BatchSpanProcessor`` (OTLP) still skip it, while
:class:`otel_aa.privacy.AllowlistSpanProcessor` passes it to GA.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from otel_aa.privacy import is_analytics_span

__all__ = ["AnalyticsSampler"]


class AnalyticsSampler(Sampler):
    """Wrap ``sampler``; turn its DROP of a SERVER, CONSUMER or ``ga.event.name`` span into RECORD_ONLY."""

    def __init__(self, sampler: Sampler) -> None:
        self._sampler = sampler

    @property
    def sampler(self) -> Sampler:
        """The wrapped sampler, which still decides what is sampled (exported to OTLP)."""
        return self._sampler

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        result = self._sampler.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )
        if result.decision is Decision.DROP and is_analytics_span(kind, attributes):
            return SamplingResult(Decision.RECORD_ONLY, attributes, result.trace_state)
        return result

    def get_description(self) -> str:
        return f"AnalyticsSampler{{{self._sampler.get_description()}}}"
