"""A Measurement Protocol server on 127.0.0.1, for tests and the demo.

:class:`GACollector` plays GA: it records every request, validates each hit with
:func:`~.validator.validate_payload`, answers ``/debug/mp/collect`` with ``validationMessages`` in
Google's format, answers ``204`` on ``/mp/collect`` as Google does, and fails on demand
(``fail_next``, ``delay_next``, ``reset_next``, ``garbage_next``). It binds 127.0.0.1 only::

    with GACollector() as ga:
        exporter = GoogleAnalyticsSpanExporter(endpoint=ga.endpoint, ...)
        ...
        ga.wait_for(lambda c: len(c.events()) >= 3, timeout=10)
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from opentelemetry.exporter.google_analytics.testing._validator import ValidationMessage, _validate_hit

__all__ = ["GACollector", "Hit"]

COLLECT_PATH = "/mp/collect"
DEBUG_PATH = "/debug/mp/collect"


@dataclass
class Hit:
    """One request as the collector received it."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes
    body: Any
    status: int | None = None
    """What the collector answered (``None``: delayed past the client, or reset)."""
    validation: list[ValidationMessage] = field(default_factory=list)

    @property
    def events(self) -> list[dict[str, Any]]:
        body = self.body
        if isinstance(body, dict) and isinstance(body.get("events"), list):
            return [e for e in body["events"] if isinstance(e, dict)]
        return []


@dataclass
class _Fault:
    kind: str  # "fail" | "delay" | "reset" | "garbage"
    status: int = 500
    retry_after: str | None = None
    seconds: float = 0.0


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the default prints request lines, api_secret included, to stderr

    def do_GET(self) -> None:
        self._answer(405, b"")

    def do_POST(self) -> None:
        collector = self.server.collector
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        hit = Hit(parts.path, query, dict(self.headers.items()), raw, body)
        fault = collector._take_fault()
        if fault is not None and fault.kind == "reset":
            collector._record(hit)
            self._reset()
            return
        if fault is not None and fault.kind == "delay":
            collector._record(hit)
            # Wait past the client's timeout; close() cuts the wait short.
            collector._stopping.wait(fault.seconds)
            self.close_connection = True
            return
        if fault is not None and fault.kind == "fail":
            hit.status = fault.status
            collector._record(hit)
            headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            self._answer(fault.status, b"", headers)
            return
        if parts.path not in (COLLECT_PATH, DEBUG_PATH):
            hit.status = 404
            collector._record(hit)
            self._answer(404, b"")
            return
        if collector.validate:
            hit.validation = _validate_hit(body, raw)
        if fault is not None and fault.kind == "garbage":
            hit.status = 200
            collector._record(hit)
            self._answer(200, b"\x00not json{", {"Content-Type": "application/json"})
            return
        if parts.path == DEBUG_PATH:
            hit.status = 200
            collector._record(hit)
            answer = json.dumps({"validationMessages": hit.validation}).encode()
            self._answer(200, answer, {"Content-Type": "application/json"})
            return
        hit.status = 204
        collector._record(hit)
        self._answer(204, b"")

    def _answer(self, status: int, payload: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if status != 204:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and status != 204:
                self.wfile.write(payload)
        except OSError:
            self.close_connection = True

    def _reset(self) -> None:
        # SO_LINGER 0 makes close() send RST: the client sees "connection reset by peer".
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()

    def finish(self) -> None:
        with contextlib.suppress(OSError):  # the socket was reset or the client went away
            super().finish()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, collector: GACollector) -> None:
        self.collector = collector
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and timed-out clients are expected here


class GACollector:
    """A loopback GA4 Measurement Protocol server that records hits and fails on demand."""

    def __init__(self, validate: bool = True) -> None:
        """``validate=False`` skips checking each hit (benchmarks: measure the client, not us)."""
        self.validate = validate
        self._condition = threading.Condition()
        self._faults: deque[_Fault] = deque()
        self._stopping = threading.Event()
        self.requests: list[Hit] = []
        """Every request received, in order, whatever it was answered."""
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- life cycle ------------------------------------------------------------------------------

    def start(self) -> GACollector:
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="GACollector", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> GACollector:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._server is not None, "start the collector first"
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """The ``/mp/collect`` URL to give an exporter."""
        return f"http://127.0.0.1:{self.port}{COLLECT_PATH}"

    # --- what was received -----------------------------------------------------------------------

    @property
    def hits(self) -> list[Hit]:
        """Hits accepted on ``/mp/collect`` (answered 204), in order."""
        with self._condition:
            return [h for h in self.requests if h.path == COLLECT_PATH and h.status == 204]

    @property
    def debug_hits(self) -> list[Hit]:
        """Hits answered on ``/debug/mp/collect``."""
        with self._condition:
            return [h for h in self.requests if h.path == DEBUG_PATH and h.status == 200]

    @property
    def invalid(self) -> list[Hit]:
        """Accepted hits that :func:`~.validator.validate_payload` finds fault with."""
        return [h for h in self.hits + self.debug_hits if h.validation]

    def events(self, name: str | None = None, measurement_id: str | None = None) -> list[dict[str, Any]]:
        """Events of the accepted hits, optionally of one name and one measurement id."""
        found: list[dict[str, Any]] = []
        for hit in self.hits:
            if measurement_id is not None and hit.query.get("measurement_id") != measurement_id:
                continue
            found.extend(e for e in hit.events if name is None or e.get("name") == name)
        return found

    def wait_for(self, predicate: Callable[[GACollector], bool], timeout: float = 10.0) -> bool:
        """Wait until ``predicate(self)`` holds (re-checked at every request); return whether it does."""
        with self._condition:
            return self._condition.wait_for(lambda: predicate(self), timeout=timeout)

    def clear(self) -> None:
        with self._condition:
            self.requests.clear()
            self._faults.clear()

    # --- faults ----------------------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 500, retry_after: float | str | None = None) -> None:
        """Answer the next ``n`` requests with ``status`` (and ``Retry-After`` when given)."""
        header = None if retry_after is None else str(retry_after)
        self._add(n, _Fault("fail", status=status, retry_after=header))

    def delay_next(self, n: int = 1, seconds: float = 5.0) -> None:
        """Leave the next ``n`` requests unanswered for ``seconds`` (past the client's timeout)."""
        self._add(n, _Fault("delay", seconds=seconds))

    def reset_next(self, n: int = 1) -> None:
        """Reset the connection of the next ``n`` requests without answering."""
        self._add(n, _Fault("reset"))

    def garbage_next(self, n: int = 1) -> None:
        """Answer the next ``n`` requests 200 with a body that is not JSON."""
        self._add(n, _Fault("garbage"))

    def _add(self, n: int, fault: _Fault) -> None:
        with self._condition:
            self._faults.extend([fault] * n)

    def _take_fault(self) -> _Fault | None:
        with self._condition:
            return self._faults.popleft() if self._faults else None

    def _record(self, hit: Hit) -> None:
        with self._condition:
            self.requests.append(hit)
            self._condition.notify_all()
