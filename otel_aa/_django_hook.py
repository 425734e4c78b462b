"""The Django response hook: what GA needs of a page, read cheaply, and nothing that identifies.

:func:`django_response_hook`, passed to ``DjangoInstrumentor().instrument(response_hook=...)``,
records on the request's span the page's media type, title (the view name), language (one of
``settings.LANGUAGES``) and route template (:mod:`otel_aa._routes`). No network, no database
query, no setting resolved (it reads :func:`otel_aa._config.current`); the body is read (its first
bytes) only in the opt-in ``OTEL_AA_PAGE_TITLE=html`` mode.

It runs inside :func:`otel_aa._guard.guarded`: nothing here raises into a view.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.exporter.google_analytics import attributes as attr
from opentelemetry.trace import Span

from otel_aa import _config as config
from otel_aa._closed_sets import site_language
from otel_aa._guard import guarded
from otel_aa._routes import admin_route, route_template
from otel_aa._titles import page_title, view_title

__all__ = ["django_response_hook"]


@guarded("Django response hook")
def django_response_hook(span: Span, request: Any, response: Any) -> None:
    """Record the page's media type, language, title and route template on ``span``: each code or
    a member of a closed set (:mod:`otel_aa._closed_sets`, :mod:`otel_aa._titles`), never content.

    What is cheap is set first, in one call (each set_attribute takes the span's lock); the
    ``html`` title mode's body read comes after, so a failure there keeps the rest.
    Path values are never converted to text: they are not sent.
    """
    if span is None or not span.is_recording():
        return
    settings = config.current()
    content_type = response.get("Content-Type", "") if hasattr(response, "get") else ""
    if not isinstance(content_type, str):
        content_type = ""
    media_type = content_type.split(";", 1)[0].strip().lower()
    found: dict[str, str] = {}
    if media_type:
        found[attr.GA_PAGE_CONTENT_TYPE] = media_type
    match = getattr(request, "resolver_match", None)
    if match is not None:
        found.update(_route_attributes(span, request, match))
    is_page = media_type == "text/html"
    if is_page:
        title = view_title(match, settings.title_max_length)
        if title:
            found[attr.GA_PAGE_TITLE] = title
    language = _language(request)
    if language:
        found[attr.GA_PAGE_LANGUAGE] = language
    if found:
        span.set_attributes(found)
    if is_page and settings.page_title_mode == "html":
        html = page_title(request, response, content_type, settings)
        if html and html != found.get(attr.GA_PAGE_TITLE):
            span.set_attribute(attr.GA_PAGE_TITLE, html)


@guarded("reading the page's language", default=None)
def _language(request: Any) -> str | None:
    # Django's own parsing, kept apart: a failure there costs the language, not the rest.
    return site_language(request.META.get("HTTP_ACCEPT_LANGUAGE"))


def _route_attributes(span: Span, request: Any, match: Any) -> dict[str, str]:
    """The route template (``ga.page.route``) and, for the root route, an empty ``http.route``:
    the instrumentor sets it only for a truthy route, and ``path("", ...)`` would look unresolved."""
    route = getattr(match, "route", None)
    if not isinstance(route, str):
        return {}
    found: dict[str, str] = {}
    if not route:
        attributes = getattr(span, "attributes", None)
        if attributes is None or attr.HTTP_ROUTE not in attributes:
            found[attr.HTTP_ROUTE] = ""
    if "admin" in (getattr(match, "app_names", None) or ()):
        found[attr.GA_PAGE_ROUTE] = admin_route(match, getattr(request, "urlconf", None))
    else:
        found[attr.GA_PAGE_ROUTE] = route_template(route)
    return found
