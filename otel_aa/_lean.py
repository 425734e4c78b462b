"""otel-aa's patches to other projects' internals, on only at the versions they were written for.

Every patch of otel-aa is here; each touches private parts of contrib's Django or Celery
instrumentation or of the SDK, so each is applied only while the installed versions are within
:data:`~otel_aa._internals.SUPPORTED_VERSIONS` (checked once; the one table of the versions
at which otel-aa reads or patches other projects' internals, kept beside those reads); outside
them one info line says so and the instrumentation does its full work.

The leaner instrumentations, decided on each request or task: while every span processor the
spans go to (the instrumentor's tracer provider's) is an
:class:`~otel_aa._allowlist_processor.AllowlistSpanProcessor` (GA, or OTLP with
:envvar:`OTEL_AA_OTLP_ALLOWLIST`), a Django span is named by its method alone (no second URL
resolution), no custom header attributes are collected (``OTEL_INSTRUMENTATION_HTTP_CAPTURE_
HEADERS_*``), and a Celery task span collects only ``celery.state`` of its context's fifteen
attributes; when, in addition, the request metrics are no-op instruments, only the method is
collected of the ten request attributes (URL, client address, User-Agent, host, ...). While no URL
is excluded (``OTEL_PYTHON_DJANGO_EXCLUDED_URLS``), the exclusion check, three a request, gets no
absolute URL built for it. Any other reader (``OTEL_TRACES_EXPORTER=ga,otlp``, a processor added
by hand, an ``otlp`` metrics exporter) gets the full output, unchanged.

:func:`fix_non_latin1_paths`, a patch of its own, keeps a path beyond Latin-1 from failing the
request (open-telemetry/opentelemetry-python-contrib#3237).
"""

from __future__ import annotations

import functools
from typing import Any

from opentelemetry.util.http import sanitize_method

from otel_aa._guard import guarded
from otel_aa._internals import CELERY, DJANGO, SDK, SUPPORTED_VERSIONS, unsupported_versions
from otel_aa._internals import supported as _supported
from otel_aa._lean_readers import (
    analytics_request_attributes,
    full_spans_read,
    request_attributes_unread,
    request_metrics_read,
    spans_unread,
    tracer_of,
)

__all__ = [
    "SUPPORTED_VERSIONS",
    "analytics_request_attributes",
    "fix_non_latin1_paths",
    "full_spans_read",
    "patch_celery_instrumentation",
    "patch_django_instrumentation",
    "request_metrics_read",
    "unsupported_versions",
    "wsgi_form",
]

_LEAN = "_otel_aa_patched"
_LATIN1 = "_otel_aa_latin1"
_PATH_KEYS = ("PATH_INFO", "SCRIPT_NAME")
_ABSOLUTE_URI = "build_absolute_uri"


def _wrap(owner: Any, name: str, make: Any, marker: str, *, static: bool = False) -> None:
    # A helper this version of the instrumentation doesn't have is left alone: the
    # instrumentation then simply does its full work.
    original = owner.__dict__.get(name) if static else getattr(owner, name, None)
    if static and isinstance(original, staticmethod):
        original = original.__func__
    if original is None or getattr(original, marker, False):
        return
    wrapper = functools.wraps(original)(make(original))
    setattr(wrapper, marker, True)
    setattr(owner, name, staticmethod(wrapper) if static else wrapper)


# --- the non-Latin-1 path fix --------------------------------------------------------------------


@guarded("fixing the WSGI helper's non-Latin-1 paths")
def fix_non_latin1_paths() -> None:
    """Keep a page whose path has characters beyond Latin-1 from failing with a 500 (idempotent).

    Django puts the decoded path in ``request.META["PATH_INFO"]``; the Django instrumentation's
    WSGI helper rebuilds ``http.url`` from it with ``wsgiref.util.request_uri`` (when the server
    sets no ``RAW_URI``: ``runserver``, the test client), which encodes it as Latin-1 and raises.
    On that error the helper is called again with a copy of the environ in PEP 3333's form; the
    request is untouched. Its own switch: on at the Django instrumentation's supported versions,
    whatever the SDK's, and whoever reads the spans.
    """
    if not _supported(DJANGO):
        return
    try:
        from opentelemetry.instrumentation.django.middleware import otel_middleware
    except ImportError:
        return
    _wrap(otel_middleware, "wsgi_collect_request_attributes", _retry_in_wsgi_form, _LATIN1)


def _retry_in_wsgi_form(original: Any) -> Any:
    def collect_request_attributes(environ: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(environ, *args, **kwargs)
        except UnicodeError:
            return original(wsgi_form(environ), *args, **kwargs)

    return collect_request_attributes


def wsgi_form(environ: Any) -> dict[str, Any]:
    """A copy of ``environ`` whose path keys are back in PEP 3333 form (bytes as Latin-1)."""
    fixed = dict(environ)
    for key in _PATH_KEYS:
        value = fixed.get(key)
        if isinstance(value, str):
            fixed[key] = value.encode("utf-8", "replace").decode("latin-1")
    return fixed


# --- the leaner Django instrumentation -----------------------------------------------------------


@guarded("patching the Django instrumentation")
def patch_django_instrumentation() -> None:
    """The non-Latin-1 path fix, and the leaner Django instrumentation (idempotent; see the
    module's docstring) when the Django instrumentation's and the SDK's versions are supported."""
    fix_non_latin1_paths()
    if not _supported(DJANGO, SDK):
        return
    try:
        from opentelemetry.instrumentation.django.middleware import otel_middleware
    except ImportError:
        return
    middleware = otel_middleware._DjangoMiddleware

    def unread() -> bool:
        return spans_unread(tracer_of(middleware))

    _wrap(otel_middleware, "wsgi_collect_request_attributes",
          _unless_read(lambda: request_attributes_unread(middleware), analytics_request_attributes), _LEAN)
    for name in ("wsgi_collect_custom_request_headers_attributes",
                 "wsgi_collect_custom_response_headers_attributes"):
        _wrap(otel_middleware, name, _unless_read(unread, _no_headers), _LEAN)
    _wrap(middleware, "_get_span_name", _unless_read(unread, _method_name), _LEAN, static=True)
    for name in ("process_request", "process_view", "process_response"):
        _wrap(middleware, name, _unbuilt_check_url, _LEAN)


def _unless_read(unread: Any, lean: Any) -> Any:
    # The helper's own work, unless unread() says nobody reads it: then lean()'s, with the same
    # arguments.
    def make(original: Any) -> Any:
        def helper(*args: Any, **kwargs: Any) -> Any:
            return lean(*args, **kwargs) if unread() else original(*args, **kwargs)

        return helper

    return make


def _no_headers(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {}


def _method_name(request: Any) -> str:
    # The allowlist names GA's copy of the span from the method and route itself.
    method = sanitize_method(str(request.method or "").strip())
    return "HTTP" if method == "_OTHER" else method


def _unbuilt_check_url(original: Any) -> Any:
    # Each of these methods starts with
    #     if self._excluded_urls.url_disabled(request.build_absolute_uri("?")): ...
    # and an empty exclusion list disables nothing, whatever the URL. While it is empty, the
    # request's first build_absolute_uri call (that one) answers "" without building anything;
    # any later call, by a hook or the view, is Django's own.
    def method(self: Any, request: Any, *args: Any, **kwargs: Any) -> Any:
        values: dict[str, Any] = getattr(request, "__dict__", None) or {}
        shadowed = _ABSOLUTE_URI not in values and "META" in values and _nothing_excluded(self)
        if shadowed:
            values[_ABSOLUTE_URI] = _CheckURL(request)
        try:
            return original(self, request, *args, **kwargs)
        finally:
            if shadowed and isinstance(values.get(_ABSOLUTE_URI), _CheckURL):
                del values[_ABSOLUTE_URI]  # not called after all: Django's own again

    return method


def _nothing_excluded(middleware: Any) -> bool:
    # ExcludeList keeps its patterns in _excluded_urls (both supported ends); anything else reads
    # as "something is excluded", and the check runs as written.
    return not getattr(getattr(middleware, "_excluded_urls", None), "_excluded_urls", True)


class _CheckURL:
    """Stands in for ``request.build_absolute_uri`` for one call, then removes itself."""

    __slots__ = ("_request",)

    def __init__(self, request: Any) -> None:
        self._request = request

    def __call__(self, location: Any = None) -> Any:
        request, self._request = self._request, None  # no cycle left behind
        values = request.__dict__
        if values.get(_ABSOLUTE_URI) is self:
            del values[_ABSOLUTE_URI]
        return "" if location == "?" else request.build_absolute_uri(location)


# --- the leaner Celery instrumentation -----------------------------------------------------------

# What the allowlist keeps of the Celery instrumentation's context attributes ("celery.<key>").
_CELERY_CONTEXT_KEYS = ("state",)


@guarded("patching the Celery instrumentation")
def patch_celery_instrumentation() -> None:
    """Wrap the Celery instrumentation's context attributes helper (idempotent; see the module)
    when the Celery instrumentation's and the SDK's versions are supported."""
    if not _supported(CELERY, SDK):
        return
    try:
        from opentelemetry.instrumentation.celery import utils
    except ImportError:
        return
    _wrap(utils, "set_attributes_from_context", _celery_context, _LEAN)


def _celery_context(original: Any) -> Any:
    def set_attributes_from_context(span: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        # Decided for this span's own processors (an SDK span knows them), else the global ones.
        source = span if getattr(span, "_span_processor", None) is not None else None
        if spans_unread(source):
            get = getattr(context, "get", None)
            if get is None:
                return None
            context = {key: get(key) for key in _CELERY_CONTEXT_KEYS}
        return original(span, context, *args, **kwargs)

    return set_attributes_from_context

