"""An OTLP/HTTP (protobuf) receiver on 127.0.0.1 for tests: records decoded spans and metrics.

``POST /v1/traces`` and ``/v1/metrics`` bodies are decoded with ``opentelemetry-proto``
(``ExportTraceServiceRequest`` / ``ExportMetricsServiceRequest``; gzip-encoded bodies too) and
flattened into :class:`ReceivedSpan` records; waiters use :meth:`OTLPReceiver.wait_for`.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


@dataclass
class ReceivedSpan:
    name: str
    kind: int
    attributes: dict[str, Any]
    resource: dict[str, Any]
    events: list[str] = field(default_factory=list)
    status_message: str = ""


class OTLPReceiver:
    """``with OTLPReceiver() as otlp:``, then ``OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint``."""

    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.metric_names: list[str] = []
        self.raw: list[bytes] = []
        self._condition = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                receiver._record(self.path, body)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="OTLPReceiver")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _record(self, path: str, body: bytes) -> None:
        spans: list[ReceivedSpan] = []
        metric_names: list[str] = []
        if path.endswith("/v1/traces"):
            request = ExportTraceServiceRequest.FromString(body)
            for resource_spans in request.resource_spans:
                resource = {kv.key: _value(kv.value) for kv in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        spans.append(ReceivedSpan(
                            name=span.name,
                            kind=span.kind,
                            attributes={kv.key: _value(kv.value) for kv in span.attributes},
                            resource=resource,
                            events=[e.name for e in span.events],
                            status_message=span.status.message,
                        ))
        elif path.endswith("/v1/metrics"):
            request_m = ExportMetricsServiceRequest.FromString(body)
            for resource_metrics in request_m.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    metric_names.extend(m.name for m in scope_metrics.metrics)
        with self._condition:
            self.raw.append(body)
            self.spans.extend(spans)
            self.metric_names.extend(metric_names)
            self._condition.notify_all()

    def wait_for(self, predicate: Callable[[OTLPReceiver], bool], timeout: float = 15.0) -> bool:
        with self._condition:
            return self._condition.wait_for(lambda: predicate(self), timeout=timeout)

    def __enter__(self) -> OTLPReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
