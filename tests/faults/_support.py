"""Helpers the fault-injection tests share: real SDK spans, exporters with short retry budgets."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from otel_aa._ga_mapping import AAMapping

SECRETS = ("faultsecret-one-4f1c9a", "faultsecret-two-8be2d0", "faultsecret-three-77ac1e")
TOKENS = [
    {"name": f"fault{i}", "measurement_id": f"G-FAULT{i:04d}", "api_secret": secret}
    for i, secret in enumerate(SECRETS)
]
ROUTE = "character/<int:character_id>/"


def page_view_spans(n: int, title: str = "Character Sheet") -> list[ReadableSpan]:
    """``n`` finished SERVER spans, made by a real SDK tracer, that each stand for one page view."""
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("tests.faults")
    for i in range(n):
        with tracer.start_as_current_span(f"GET {ROUTE}", kind=SpanKind.SERVER) as span:
            span.set_attributes(
                {
                    "http.request.method": "GET",
                    "http.response.status_code": 200,
                    "http.route": ROUTE,
                    "ga.page.content_type": "text/html",
                    "ga.page.title": f"{title} {i}",
                }
            )
    provider.shutdown()
    return list(memory.get_finished_spans())


def fast_exporter(
    endpoint: str,
    *,
    budget: float = 5.0,
    backoff: float = 0.01,
    timeout: float = 2.0,
    tokens: Sequence[dict[str, Any]] = TOKENS,
    validate: bool = False,
) -> GoogleAnalyticsSpanExporter:
    """A GA span exporter whose retry budget and backoff are short enough for a test.

    The transport's documented class constants are overridden on this instance only; everything
    else (HTTP, retries, Retry-After handling) is the real code path.
    """
    exporter = GoogleAnalyticsSpanExporter(
        mapping=AAMapping(),
        tokens=list(tokens), endpoint=endpoint, timeout=timeout, validate=validate
    )
    transport = exporter._pipeline.transport  # type: ignore[union-attr]
    transport.MAX_RETRY_SECONDS = budget
    transport.BACKOFF_INITIAL = backoff
    transport.BACKOFF_MAX = backoff * 4
    return exporter


def transport(exporter: GoogleAnalyticsSpanExporter) -> Any:
    return exporter._pipeline.transport  # type: ignore[union-attr]


def delivered_titles(hits: Sequence[Any], measurement_id: str) -> list[str]:
    return [
        e["params"]["page_title"]
        for h in hits
        if h.query.get("measurement_id") == measurement_id
        for e in h.events
        if e.get("name") == "page_view"
    ]


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> str:
        return "\n".join(self.format(r) for r in self.records)


@contextmanager
def captured_logs() -> Iterator[_Records]:
    """Every log record from any logger, formatted with arguments, while the block runs."""
    from opentelemetry.exporter.google_analytics import _log

    _log._reset()  # "once per window" must not hide this test's messages behind another's
    handler = _Records()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def closed_endpoint() -> str:
    """A collect URL on a loopback port nothing listens on: every connection is refused."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mp/collect"
