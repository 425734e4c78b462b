"""Settings that appear after the exporter was built are used: under ``opentelemetry-instrument``
the exporter exists before Django has loaded ``settings.py``, where an admin keeps the tokens.
Also: extra destinations from a ``token_source`` read at each export."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from ga_test_support import MEASUREMENT_ID, OTHER_ID, OTHER_SECRET, SECRET, SpanFactory, token
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.exporter.google_analytics.tokens import Token, load_tokens

_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.trace import SpanKind

    endpoint, tokens = sys.argv[1], json.loads(sys.argv[2])
    exporter = GoogleAnalyticsSpanExporter()          # Django not configured yet: no tokens
    before = len(exporter.tokens)
    from django.conf import settings
    settings.configure(OTEL_EXPORTER_GA_TOKENS=tokens, OTEL_EXPORTER_GA_ENDPOINT=endpoint)
    after = len(exporter.tokens)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("t").start_as_current_span("GET /", kind=SpanKind.SERVER) as span:
        span.set_attributes({"http.request.method": "GET", "http.response.status_code": 200,
                             "http.route": "", "ga.page.content_type": "text/html"})
    provider.shutdown()
    print(json.dumps({"before": before, "after": after}))
    """
)


def test_django_settings_loaded_after_the_exporter_was_built(ga: GACollector) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT, ga.endpoint, json.dumps([token()])],
        capture_output=True, text=True, timeout=60, check=True,
    )
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts == {"before": 0, "after": 1}
    assert ga.wait_for(lambda c: len(c.hits) >= 1, timeout=10)
    assert ga.hits[0].query["measurement_id"] == MEASUREMENT_ID
    assert SECRET not in result.stderr


def test_token_source_adds_destinations_read_at_each_export(ga: GACollector, spans: SpanFactory) -> None:
    extra = load_tokens(tokens=[token(OTHER_ID, OTHER_SECRET)])
    calls: list[int] = []

    def source() -> list[Token]:
        calls.append(1)
        # The same token twice (as configured and as a source) is sent to once.
        return [*extra, *load_tokens(tokens=[token()])]

    exporter = GoogleAnalyticsSpanExporter(tokens=[token()], endpoint=ga.endpoint, token_source=source)
    exporter.export([spans.page()])
    assert len(calls) == 1
    assert sorted(hit.query["measurement_id"] for hit in ga.hits) == sorted([MEASUREMENT_ID, OTHER_ID])
    exporter.shutdown()
