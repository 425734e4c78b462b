"""Sampling that can't thin GA's counts.

A sampler chosen for the admin's own backend (``OTEL_TRACES_SAMPLER=parentbased_traceidratio``)
or a client's ``traceparent`` header with the sampled flag off would otherwise decide whether a
page view or task event reaches GA. :class:`AnalyticsSampler` asks the configured sampler first
and, where it says DROP for a span GA counts, records the span anyway without sampling it
(``RECORD_ONLY``): exporters behind a plain ``BatchSpanProcessor`` (OTLP) still skip it, while
:class:`otel_aa._allowlist_processor.AllowlistSpanProcessor` passes it to GA.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from importlib.metadata import entry_points

from opentelemetry.context import Context
from opentelemetry.sdk.environment_variables import OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG
from opentelemetry.sdk.trace.sampling import DEFAULT_ON, Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from otel_aa.privacy import is_analytics_span

__all__ = ["AnalyticsSampler", "analytics_sampler", "sampler_from_environment"]

_logger = logging.getLogger(__name__)

#: The entry-point group of ``OTEL_TRACES_SAMPLER``'s names (the SDK's own samplers are there too).
SAMPLER_GROUP = "opentelemetry_traces_sampler"
#: The samplers whose ``OTEL_TRACES_SAMPLER_ARG`` is a rate (a float, 1.0 when unreadable).
_RATIO_SAMPLERS = ("traceidratio", "parentbased_traceidratio")


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


def sampler_from_environment() -> Sampler:
    """The sampler the SDK would choose from ``OTEL_TRACES_SAMPLER`` / ``_ARG``, public API only.

    As the SDK's configurator does: the name is an ``opentelemetry_traces_sampler`` entry point
    (the SDK's own six, or a package's), called with the argument (a float rate for the ratio
    samplers, else the raw text); unset, unknown or failing: ``parentbased_always_on``, logged.
    """
    name = (os.environ.get(OTEL_TRACES_SAMPLER) or "").strip()
    if not name:
        return DEFAULT_ON
    try:
        found = entry_points(group=SAMPLER_GROUP, name=name)
        if not found:
            raise LookupError("no such sampler")
        factory = next(iter(found)).load()
        arg: float | str | None = os.environ.get(OTEL_TRACES_SAMPLER_ARG)
        if name in _RATIO_SAMPLERS:
            try:
                arg = float(arg or "")
            except ValueError:
                _logger.warning("otel-aa: OTEL_TRACES_SAMPLER_ARG is not a number; using the rate 1.0")
                arg = 1.0
        sampler = factory(arg)
        if not isinstance(sampler, Sampler):
            raise TypeError("not a Sampler")
    except Exception as exc:  # a third-party factory: anything it raises means the default
        _logger.warning("otel-aa: OTEL_TRACES_SAMPLER=%s can't be used (%s); using parentbased_always_on",
                        name, type(exc).__name__)
        return DEFAULT_ON
    return sampler


def analytics_sampler() -> AnalyticsSampler:
    """What the configurator hands the SDK: :func:`sampler_from_environment`, wrapped for GA."""
    return AnalyticsSampler(sampler_from_environment())
