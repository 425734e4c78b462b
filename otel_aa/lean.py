"""Leaner Django and Celery instrumentations when only the privacy allowlist reads their spans.

On every request the Django instrumentation resolves the URL once more for the span's name,
collects about ten request attributes (the URL, the client's address and User-Agent, the host,
the port, ...), the headers named by ``OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*`` and sets them
all on the span twice. In otel-aa's default set-up, GA only, nothing reads any of it: the allowlist
keeps the method, the route and the status code (:data:`otel_aa.privacy.ALLOWED_SPAN_ATTRIBUTES`)
and rebuilds the span's name from them, and the instrumentor's request metrics go to a no-op
meter provider (:func:`otel_aa.instrumenting.instrumentation_kwargs`). That work was about a
quarter of the instrumentation's cost per request (``bench/bench_request.py``).

:func:`patch_django_instrumentation` wraps the instrumentation's helpers so that, decided on each
request:

- while every span processor the spans go to (the instrumentor's tracer provider's) is an
  :class:`~otel_aa.privacy.AllowlistSpanProcessor` (GA, or OTLP with
  :envvar:`OTEL_AA_OTLP_ALLOWLIST`), the span is named by its method alone and no custom header
  attributes are collected;
- when, in addition, the instrumentor's request metrics are no-op instruments, only the method is
  collected of the request attributes (the metrics would have used the rest).

:func:`patch_celery_instrumentation` does the same for Celery's task spans: about fifteen
attributes from the task's request and delivery info (its id, host name, queue, routing key,
retries, time limits, ...) of which the allowlist keeps only ``celery.state``.

Any other reader (``OTEL_TRACES_EXPORTER=ga,otlp``, a processor added by hand, an ``otlp``
metrics exporter) gets the instrumentation's full output, unchanged. The wrappers also keep a path
beyond Latin-1 from failing the request (:func:`patch_django_instrumentation`).
"""

from __future__ import annotations

import functools
from typing import Any

from opentelemetry import trace
from opentelemetry.metrics import NoOpHistogram, NoOpUpDownCounter
from opentelemetry.util.http import sanitize_method

from otel_aa._guard import guarded
from otel_aa.privacy import AllowlistSpanProcessor

__all__ = [
    "analytics_request_attributes",
    "full_spans_read",
    "patch_celery_instrumentation",
    "patch_django_instrumentation",
    "request_metrics_read",
]

_PATCHED = "_otel_aa_patched"
# What the allowlist keeps of the Celery instrumentation's context attributes ("celery.<key>").
_CELERY_CONTEXT_KEYS = ("state",)
_PATH_KEYS = ("PATH_INFO", "SCRIPT_NAME")
_NO_OP_INSTRUMENTS = (type(None), NoOpHistogram, NoOpUpDownCounter)
# The semantic-convention modes (the instrumentation's _StabilityMode values) that report the old
# attribute names, and those that report the new ones.
_OLD_NAMES = frozenset({"default", "http/dup"})
_NEW_NAMES = frozenset({"http", "http/dup"})

# (the processors tuple the verdict is for, the verdict): one object, read and replaced whole, so
# a thread never pairs one tuple with another's verdict. The SDK replaces the tuple whenever a
# processor is added, which is what makes it a key.
_spans_verdict: tuple[Any, bool] = (None, False)


def full_spans_read(source: Any = None) -> bool:
    """Whether anything but the allowlist reads the spans of ``source``.

    ``source``: a ``TracerProvider``, or an SDK tracer or span (the processors its spans go to);
    by default the global provider. True where that can't be told (not the SDK's provider) and
    for a provider without processors (one may be added).
    """
    global _spans_verdict
    if source is None:
        source = trace.get_tracer_provider()
    for name in ("_active_span_processor", "span_processor", "_span_processor"):
        active = getattr(source, name, None)
        if active is not None:
            break
    processors = getattr(active, "_span_processors", None)
    if processors is None:
        return True
    key, verdict = _spans_verdict
    if key is not processors:
        only_allowlist = bool(processors) and all(isinstance(p, AllowlistSpanProcessor) for p in processors)
        verdict = not only_allowlist
        _spans_verdict = (processors, verdict)
    return verdict


def _tracer_of(middleware: Any) -> Any:
    # The Django middleware's tracer, made from the provider given to the instrumentor; until the
    # SDK is set up a proxy, which follows the global provider.
    tracer = getattr(middleware, "_tracer", None)
    return tracer if getattr(tracer, "span_processor", None) is not None else None


def request_metrics_read(middleware: Any) -> bool:
    """Whether the Django middleware's request metrics go anywhere (not no-op instruments)."""
    return not all(
        isinstance(getattr(middleware, name, None), _NO_OP_INSTRUMENTS)
        for name in ("_duration_histogram_old", "_duration_histogram_new", "_active_request_counter")
    )


def analytics_request_attributes(environ: Any, sem_conv_opt_in_mode: Any = None) -> dict[str, str]:
    """The request attributes GA can use, as the instrumentation names them: the method only.

    Normalised the instrumentation's way (a standard verb, otherwise ``_OTHER``); the tests check
    it equals what the allowlist keeps of the instrumentation's full output.
    """
    method = sanitize_method(str(environ.get("REQUEST_METHOD") or "")).strip()
    mode = str(getattr(sem_conv_opt_in_mode, "value", sem_conv_opt_in_mode or "default"))
    attributes = {}
    if mode in _OLD_NAMES:
        attributes["http.method"] = method
    if mode in _NEW_NAMES:
        attributes["http.request.method"] = method
    return attributes


def _wsgi_form(environ: Any) -> dict[str, Any]:
    """A copy of ``environ`` whose path keys are back in PEP 3333 form (bytes as Latin-1)."""
    fixed = dict(environ)
    for key in _PATH_KEYS:
        value = fixed.get(key)
        if isinstance(value, str):
            fixed[key] = value.encode("utf-8", "replace").decode("latin-1")
    return fixed


@guarded("patching the Django instrumentation")
def patch_django_instrumentation() -> None:
    """Wrap the Django instrumentation's helpers (idempotent; see the module's docstring).

    It also keeps a page whose path has characters beyond Latin-1 from failing with a 500: Django
    replaces ``request.META["PATH_INFO"]`` with the decoded path, and the WSGI helper the
    instrumentation hands it to rebuilds ``http.url`` with ``wsgiref.util.request_uri`` (when the
    server sets no ``RAW_URI``: ``runserver``, the test client), which encodes the path as
    Latin-1 and raises ``UnicodeEncodeError`` into the request
    (open-telemetry/opentelemetry-python-contrib#3237). On that error the helper is called again
    with a copy of the environ in the WSGI form PEP 3333 promises; the request is untouched.
    """
    try:
        from opentelemetry.instrumentation.django.middleware import otel_middleware
    except ImportError:
        return
    middleware = otel_middleware._DjangoMiddleware
    _wrap(otel_middleware, "wsgi_collect_request_attributes", _request_attributes(middleware))
    for name in ("wsgi_collect_custom_request_headers_attributes",
                 "wsgi_collect_custom_response_headers_attributes"):
        _wrap(otel_middleware, name, _custom_headers(middleware))
    _wrap(middleware, "_get_span_name", _span_name(middleware), static=True)


def _wrap(owner: Any, name: str, make: Any, *, static: bool = False) -> None:
    # A helper this version of the instrumentation doesn't have is left alone: the
    # instrumentation then simply does its full work.
    original = owner.__dict__.get(name) if static else getattr(owner, name, None)
    if static and isinstance(original, staticmethod):
        original = original.__func__
    if original is None or getattr(original, _PATCHED, False):
        return
    wrapper = functools.wraps(original)(make(original))
    setattr(wrapper, _PATCHED, True)
    setattr(owner, name, staticmethod(wrapper) if static else wrapper)


# The decisions run on the request thread: guarded, and on failure the instrumentation does its
# full work.
@guarded("deciding what the instrumentations collect", default=False)
def _spans_unread(source: Any) -> bool:
    return not full_spans_read(source)


@guarded("deciding what the Django instrumentation collects", default=False)
def _request_attributes_unread(middleware: Any) -> bool:
    return not full_spans_read(_tracer_of(middleware)) and not request_metrics_read(middleware)


def _request_attributes(middleware: Any) -> Any:
    def make(original: Any) -> Any:
        def collect_request_attributes(environ: Any, *args: Any, **kwargs: Any) -> Any:
            if _request_attributes_unread(middleware):
                return analytics_request_attributes(environ, *args, **kwargs)
            try:
                return original(environ, *args, **kwargs)
            except UnicodeError:
                return original(_wsgi_form(environ), *args, **kwargs)

        return collect_request_attributes

    return make


def _custom_headers(middleware: Any) -> Any:
    def make(original: Any) -> Any:
        def collect_custom_headers_attributes(*args: Any, **kwargs: Any) -> Any:
            if _spans_unread(_tracer_of(middleware)):
                return {}
            return original(*args, **kwargs)

        return collect_custom_headers_attributes

    return make


def _span_name(middleware: Any) -> Any:
    def make(original: Any) -> Any:
        def get_span_name(request: Any) -> Any:
            if _spans_unread(_tracer_of(middleware)):
                # The allowlist names GA's copy from the method and route itself; no second URL
                # resolution for a name nobody reads.
                method = sanitize_method(str(request.method or "").strip())
                return "HTTP" if method == "_OTHER" else method
            return original(request)

        return get_span_name

    return make


@guarded("patching the Celery instrumentation")
def patch_celery_instrumentation() -> None:
    """Wrap the Celery instrumentation's context attributes helper (idempotent; see the module)."""
    try:
        from opentelemetry.instrumentation.celery import utils
    except ImportError:
        return
    _wrap(utils, "set_attributes_from_context", _celery_context)


def _celery_context(original: Any) -> Any:
    def set_attributes_from_context(span: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
        # Decided for this span's own processors (an SDK span knows them), else the global ones.
        source = span if getattr(span, "_span_processor", None) is not None else None
        if _spans_unread(source):
            get = getattr(context, "get", None)
            if get is None:
                return None
            context = {key: get(key) for key in _CELERY_CONTEXT_KEYS}
        return original(span, context, *args, **kwargs)

    return set_attributes_from_context
