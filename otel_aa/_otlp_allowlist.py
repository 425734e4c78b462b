"""``OTEL_AA_OTLP_ALLOWLIST``: whether it is on, and what it does to the metrics of other exporters.

Spans reach other exporters through :class:`otel_aa._allowlist_processor.AllowlistSpanProcessor` (the
configurator's ``export_span_processor``); metrics and the resource are reduced here.
"""

from __future__ import annotations

import logging

from opentelemetry import metrics

from otel_aa import _config as config
from otel_aa._guard import guarded
from otel_aa._internals import meter_provider_config

__all__ = ["otlp_allowlist_on", "reduce_metrics"]

_logger = logging.getLogger(__name__)


def otlp_allowlist_on() -> bool:
    """Whether :envvar:`OTEL_AA_OTLP_ALLOWLIST` is on (fails closed: an unreadable value is on).

    Resolved once (:mod:`otel_aa._config`): the configurator decides each exporter's processor
    with it at start-up.
    """
    return config.current().otlp_allowlist


@guarded("applying the OTLP allowlist to metrics")
def reduce_metrics() -> None:
    """Reduce what the global meter provider exports: attributes by an SDK ``View`` (the
    instrumentations' request metrics carry the Host header), the resource to the SDK's own.

    Before any instrument exists (the readers read the views per new instrument). The SDK has no
    public way to change a built provider's views or resource, hence its private configuration
    (:func:`otel_aa._internals.meter_provider_config`, at the SDK versions otel-aa supports).
    """
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.view import View
    from opentelemetry.sdk.resources import Resource

    from otel_aa.privacy import ALLOWED_METRIC_ATTRIBUTES, ALLOWED_RESOURCE_ATTRIBUTES

    provider = metrics.get_meter_provider()
    config = meter_provider_config(provider) if isinstance(provider, MeterProvider) else None
    if config is None:
        _logger.warning("otel-aa: OTEL_AA_OTLP_ALLOWLIST can't reduce this meter provider's metrics")
        return
    config.views = (View(instrument_name="*", attribute_keys=set(ALLOWED_METRIC_ATTRIBUTES)),)
    config.resource = Resource({key: value for key, value in config.resource.attributes.items()
                                if key in ALLOWED_RESOURCE_ATTRIBUTES})
