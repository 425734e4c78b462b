"""The exporters' keyword arguments, written once for both exporters, the reader and ``load_tokens``.

Every argument is optional; ``None`` (or leaving it out) means: the environment variable of
:mod:`.environment_variables`, else the host setting of the same name (``settings``, see
:data:`.settings.HostSettings`), else the default. Constructors take these as keywords
(``GoogleAnalyticsSpanExporter(**TokenArgs/ExporterArgs)``), so an argument added here reaches
each of them, and a misspelt keyword raises ``TypeError`` as Python's own signatures do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypedDict

from opentelemetry.exporter.google_analytics.settings import HostSettings

if TYPE_CHECKING:
    import requests
    from opentelemetry.exporter.google_analytics._delivery import DeliveryObserver
    from opentelemetry.exporter.google_analytics._leases import SendLease
    from opentelemetry.exporter.google_analytics._mapping import GAMapping
    from opentelemetry.exporter.google_analytics._token import Token

__all__ = ["ClientId", "ExporterArgs", "MetricExporterArgs", "TokenArgs", "TokenSource", "UserProperties",
           "check_keywords"]

#: A string, or a callable returning one (``None``: not known yet; see ``client_id`` below).
ClientId = str | Callable[[], str | None]
UserProperties = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
TokenSource = Callable[[], Iterable["Token"]]


class TokenArgs(TypedDict, total=False):
    """Where the tokens come from (``load_tokens`` takes these)."""

    #: Token objects or mappings, or a JSON list (:envvar:`OTEL_EXPORTER_GA_TOKENS`).
    tokens: Sequence[Token | Mapping[str, Any]] | str | None
    #: The short form, one token (:envvar:`OTEL_EXPORTER_GA_MEASUREMENT_ID` and ``_API_SECRET``).
    measurement_id: str | None
    api_secret: str | None
    #: Default flags of every token (:envvar:`OTEL_EXPORTER_GA_PAGE_VIEWS` and friends).
    page_views: bool | None
    celery_events: bool | None
    aggregate_celery_events: bool | None
    daily_stats: bool | None
    #: Regexes for every token (:envvar:`OTEL_EXPORTER_GA_IGNORE_PATHS`).
    ignore_paths: Sequence[str] | str | None
    #: The host application's settings, consulted after the environment.
    settings: HostSettings | None


class ExporterArgs(TokenArgs, total=False):
    """What both exporters take."""

    endpoint: str | None
    timeout: float | None
    validate: bool | None
    #: Evaluated on the export thread; ``None`` or an exception from the callable: not known yet
    #: (that export's events are dropped and counted); the first value it gives is kept.
    client_id: ClientId | None
    user_properties: UserProperties | None
    #: A ``requests.Session`` to send with (default: one of the exporter's own).
    session: requests.Session | None
    #: Extra tokens, asked at each export (a source the host caches; a failure is logged).
    token_source: TokenSource | None
    delivery_observer: DeliveryObserver | None
    #: How spans and metrics become GA events (default: :class:`.DefaultMapping`).
    mapping: GAMapping | None


class MetricExporterArgs(ExporterArgs, total=False):
    """What the metric exporter (and so :class:`.GoogleAnalyticsMetricReader`) takes besides."""

    #: Seconds between two daily-stats sends (:envvar:`OTEL_EXPORTER_GA_STATS_INTERVAL`).
    stats_interval: float | None
    #: Who sends the daily stats, and when (default: an :class:`.InProcessLease`).
    lease: SendLease | None


def check_keywords(kwargs: Mapping[str, Any], spec: type, owner: str) -> None:
    """Raise ``TypeError`` for a keyword ``spec`` (one of the TypedDicts above) doesn't define."""
    known = spec.__required_keys__ | spec.__optional_keys__  # type: ignore[attr-defined]
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"{owner}() got unexpected keyword argument(s): {', '.join(unknown)}")
