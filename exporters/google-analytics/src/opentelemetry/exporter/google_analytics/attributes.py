"""The span attributes the default mapping (:mod:`._mapping`) reads.

Semantic-convention names come in both HTTP modes (the old ``http.method`` family, and the stable
``http.request.method`` family selected by ``OTEL_SEMCONV_STABILITY_OPT_IN=http``); the stable
ones are the semantic-conventions package's own constants. The ``ga.*`` names are set for GA
only, by whatever instruments the app (the ``otel_aa`` distro's hooks, ``analytics_event()``).
A mapping of an app's own reads names of its own: they are defined there, not here.
"""

from __future__ import annotations

from opentelemetry.semconv.attributes import http_attributes

# --- HTTP semantic conventions (both modes) ------------------------------------------------------
HTTP_REQUEST_METHOD = http_attributes.HTTP_REQUEST_METHOD
"""Stable HTTP semconv: request method."""
HTTP_METHOD = "http.method"
"""Old HTTP semconv: request method (the semconv package keeps it in its private incubating part)."""
HTTP_RESPONSE_STATUS_CODE = http_attributes.HTTP_RESPONSE_STATUS_CODE
"""Stable HTTP semconv: response status code."""
HTTP_STATUS_CODE = "http.status_code"
"""Old HTTP semconv: response status code."""
HTTP_ROUTE = http_attributes.HTTP_ROUTE
"""The matched route, as the instrumentation recorded it (both modes)."""
HTTP_RESPONSE_HEADER_CONTENT_TYPE = "http.response.header.content-type"
"""A captured response header (a sequence of strings), when header capture is on."""

METHOD_ATTRIBUTES = (HTTP_REQUEST_METHOD, HTTP_METHOD)
STATUS_ATTRIBUTES = (HTTP_RESPONSE_STATUS_CODE, HTTP_STATUS_CODE)

# --- set for GA by the instrumenting side --------------------------------------------------------
GA_PAGE_TITLE = "ga.page.title"
"""Page title as the instrumenting side sets it (``otel_aa``: the route's view name, code, never
page content)."""
GA_PAGE_LANGUAGE = "ga.page.language"
"""The visitor's language as one of the site's languages (``otel_aa``: a ``LANGUAGES`` code), e.g. ``de``."""
GA_PAGE_CONTENT_TYPE = "ga.page.content_type"
"""Response media type without parameters, e.g. ``text/html``."""
GA_PAGE_ROUTE = "ga.page.route"
"""The page's route template, e.g. ``/character/<int:character_id>/`` (``otel_aa``: computed from
the URLconf, the admin's mount point replaced by ``<admin>/``); without it, ``http.route``."""
GA_EVENT_NAME = "ga.event.name"
"""Turns any span into a custom GA event of this name."""
GA_EVENT_STREAM = "ga.event.stream"
"""``celery_events`` or ``daily_stats`` (or ``page_views``): the token flag that admits the event."""
GA_EVENT_PARAM_PREFIX = "ga.event.param."
"""``ga.event.param.<name>``: the custom event's params."""
