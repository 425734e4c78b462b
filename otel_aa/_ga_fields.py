"""Every field of a GA hit otel-aa sends, where its value comes from, and the set it belongs to.

This is data: ``docs/privacy.md`` renders it (the ``ga-fields-table`` directive of
``docs/_ext/otel_aa_docs.py``), and ``tests/privacy/test_ga_fields.py`` checks that every field
the exporter emits is listed here. A field is named by its path in the request body, with
``[]`` for each event of ``events``; the event's name comes first where the field is specific
to one event (``page_view``, ``celery_event``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GA_FIELDS", "GAField"]


@dataclass(frozen=True)
class GAField:
    """One field of a Measurement Protocol request body."""

    #: Path in the body, e.g. ``events[].params.page_title``.
    path: str
    #: Which events carry it (``*`` for the request itself or every event).
    events: str
    #: Where the value comes from.
    source: str
    #: The code or closed set the value belongs to: why it identifies nobody.
    belongs_to: str


GA_FIELDS: tuple[GAField, ...] = (
    # The request.
    GAField("client_id", "*", "the install's random UUIDv4 (AA's AnalyticsIdentifier where AA is "
            "installed, else one otel-aa stores)", "one random value per install, not per person"),
    GAField("non_personalized_ads", "*", "a constant", "always true"),
    GAField("consent.ad_user_data", "*", "a constant", "always DENIED"),
    GAField("consent.ad_personalization", "*", "a constant", "always DENIED"),
    GAField("user_properties.allianceauth_version.value", "*", "allianceauth.__version__",
            "code: the installed AA release"),
    # Every event.
    GAField("events[].name", "*", "the mapping (page_view, celery_event) or analytics_event()",
            "code"),
    GAField("events[].timestamp_micros", "*", "the span's end (a metric point's time)",
            "a clock reading, in microseconds"),
    GAField("events[].params.engagement_time_msec", "*", "the span's duration in milliseconds "
            "(1 to 60000; 1 for daily stats): how long the server took, not how long anyone read",
            "a count"),
    GAField("events[].params.session_id", "*", "the start of the event's 30-minute window, in epoch "
            "seconds", "a clock reading, the same for every visitor"),
    # page_view.
    GAField("events[].params.page_location", "page_view", "https://site.invalid + the route template "
            "from the URLconf (admin pages: <admin>/ instead of the admin's mount point)",
            "code: the site's URL patterns; never the host, path values or query"),
    GAField("events[].params.page_title", "page_view", "the route's view name "
            "(request.resolver_match.view_name; admin pages admin:<url name>); with "
            "OTEL_AA_PAGE_TITLE=html the HTML title once k distinct visitors saw it on that route",
            "code: URL names and namespaces (html mode: a text k visitors share)"),
    GAField("events[].params.language", "page_view", "Accept-Language by q-weight, mapped to "
            "settings.LANGUAGES as LocaleMiddleware does", "the closed set settings.LANGUAGES"),
    # celery_event, from a task span.
    GAField("events[].params.namespace", "celery_event", "the task name's module path without "
            ".tasks (daily stats: allianceauth.analytics)", "code: a dotted path of identifiers, "
            "else the placeholder other"),
    GAField("events[].params.task", "celery_event", "the task name's function part (daily stats: "
            "send_install_stats, send_extension_stats)", "code, else the placeholder other"),
    GAField("events[].params.label", "celery_event", "the task's function name; daily stats: the "
            "statistic's name or an installed app's label", "code: task names, INSTALLED_APPS labels"),
    GAField("events[].params.result", "celery_event", "Success, or the name of the exception class",
            "Success, a class reachable by that name in its imported module, else the placeholder "
            "Error"),
    GAField("events[].params.value", "celery_event", "the task's int return value; daily stats: a "
            "count; aggregated task events: the number of runs counted", "an integer within int64, "
            "else 1"),
    GAField("events[].params.aggregate", "celery_event", "aggregated task events only (tokens with "
            "aggregate_celery_events): the length of the counted interval, in whole seconds",
            "a count of seconds, at least 1"),
)
