"""HTTP delivery to the Measurement Protocol: one pooled session, timeouts, bounded retries.

How a body travels. The transport owns a ``requests.Session`` with its own ``HTTPAdapter``
mounted. The adapter's urllib3 connection pool for the endpoint is looked up once, as
``HTTPAdapter.send`` would look it up (``get_connection_with_tls_context``, with the session's
proxies and CA bundle), and each token's request target and headers are computed once
(``request_url``). A send is then one ``urlopen`` of the body's bytes on that pool: a kept-alive
connection, no redirects, no urllib3 retries (ours are below), the 204's empty body read in the
same call. What ``Session.send`` and ``HTTPAdapter.send`` add on every request (hooks, cookie
extraction twice, environment merging, the pool lookup, a ``Response`` and a streamed body read)
was two thirds of the export's cost and is of no use for GA's answers (issue 13).

Isolation from the host: neither ``Session.send`` nor ``HTTPAdapter.send`` is called, so a host
test suite's HTTP mocks (``responses`` patches ``HTTPAdapter.send``, ``requests_mock``
``Session.get_adapter`` and ``Session.send``) neither record nor refuse GA's requests, and the
host's requests instrumentation (which wraps ``Session.send``) makes no span of them. Each send
also runs with OpenTelemetry's suppress-instrumentation key set, as the SDK's batch processors
do around their exporters, for instrumentations further down (urllib3). A session passed in by
the caller is used as given (``Session.post``): that is their choice.

The API secret travels in the query string, so it is kept out of everything this module logs
or raises: messages are our own (status code, exception type, token name), never ``str(exc)``
of a requests or urllib3 exception, and a filter masks ``api_secret=`` in urllib3's DEBUG lines
(:mod:`._secrets`, installed when this module is imported). One attempt and its errors are
:mod:`._http`; the retry policy is :mod:`._retry`, the loop :meth:`_Transport._send`.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import Any
from urllib.parse import urlencode

import requests
import requests.adapters
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value
from opentelemetry.exporter.google_analytics._endpoint import debug_endpoint
from opentelemetry.exporter.google_analytics._http import (
    HEADERS,
    Answer,
    log_validation,
    post_on_pool,
    post_with_session,
)
from opentelemetry.exporter.google_analytics._log import log_per_window
from opentelemetry.exporter.google_analytics._retry import (
    _Failed,
    _Retryable,
    _ShuttingDown,
    backoff_delay,
    parse_retry_after,
)
from opentelemetry.exporter.google_analytics._secrets import mask_url
from opentelemetry.exporter.google_analytics._tokens import Token
from urllib3 import exceptions as u3

_logger = logging.getLogger("opentelemetry.exporter.google_analytics")

# Bound now, before any test patches the class (see the module's docstring).
_HTTPAdapter = requests.adapters.HTTPAdapter


class _Transport:
    """Sends request bodies to one endpoint for any number of tokens."""

    #: Total time one send may spend retrying, in seconds.
    MAX_RETRY_SECONDS = 30.0
    #: First backoff and its cap, in seconds (exponential, with full jitter on top).
    BACKOFF_INITIAL = 0.5
    BACKOFF_MAX = 8.0
    BACKOFF_JITTER = 0.5

    def __init__(self, endpoint: str, timeout: float, validate: bool,
                 session: requests.Session | None = None) -> None:
        self.endpoint = debug_endpoint(endpoint) if validate else endpoint
        self.timeout = timeout
        self.validate = validate
        #: False while the configured endpoint is invalid: nothing can be sent.
        self.usable = True
        self.shutdown_event = threading.Event()
        self._own_session = session is None
        #: The adapter whose pool the own session's requests use; None with a caller's session.
        self._adapter: requests.adapters.HTTPAdapter | None = None
        self._session = session if session is not None else self._new_session()
        self.attempts = 0  # HTTP calls made, for tests and the benchmark
        self._last_failure: str | None = None  # why the last send gave up (no data in it)
        #: Why the last failed send failed (a fixed, data-free text), for delivery observers.
        self.last_error: str | None = None
        #: The urllib3 pool for the endpoint (own session), looked up at the first send.
        self._pool: Any = None
        #: Per destination (measurement id, API secret): request target, headers, full URL.
        self._routes: dict[tuple[str, str], tuple[str, dict[str, str], str]] = {}
        if hasattr(os, "register_at_fork"):
            weak_reinit = weakref.WeakMethod(self._after_fork)

            def _after_in_child() -> None:
                reinit = weak_reinit()
                if reinit is not None:
                    reinit()

            os.register_at_fork(after_in_child=_after_in_child)

    def configure(self, endpoint: str, timeout: float, validate: bool, usable: bool = True) -> None:
        """Point at another endpoint, timeout or mode (the settings changed); keeps shutdown state.

        ``usable=False``: the endpoint is invalid; it is not parsed, and nothing is sent.
        """
        self.timeout, self.validate, self.usable = timeout, validate, usable
        if not usable:
            return
        target = debug_endpoint(endpoint) if validate else endpoint
        if target != self.endpoint:
            self.endpoint = target
            if self._own_session:
                old, self._session = self._session, self._new_session()
                old.close()
            self._pool, self._routes = None, {}

    def __repr__(self) -> str:
        return (f"_Transport(endpoint={mask_url(self.endpoint)!r}, timeout={self.timeout}, "
                f"validate={self.validate})")

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        # Mounted for closing with the session; sends use its pool (see the module's docstring).
        self._adapter = _HTTPAdapter()
        session.mount("https://", self._adapter)
        session.mount("http://", self._adapter)
        session.headers = requests.structures.CaseInsensitiveDict(HEADERS)
        # Proxy and CA-bundle environment variables are read once here, not on every request
        # (requests would scan the whole environment per call).
        session.proxies.update(requests.utils.get_environ_proxies(self.endpoint))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False
        return session

    def _after_fork(self) -> None:
        # A pooled connection shared with the parent would interleave bytes on one socket.
        if self._own_session:
            self._session = self._new_session()
        self._pool, self._routes = None, {}

    def close(self) -> None:
        self.shutdown_event.set()
        try:
            self._session.close()
        except Exception:  # closing is best effort at shutdown
            _logger.debug("Google Analytics exporter: closing the HTTP session failed")

    # --- one attempt -----------------------------------------------------------------------------

    def deadline(self) -> float:
        """The ``time.monotonic()`` by which sends starting now must end: one retry budget."""
        return time.monotonic() + self.MAX_RETRY_SECONDS

    def url_for(self, token: Token) -> str:
        """The URL ``token``'s bodies are posted to (it holds the API secret: mask it to show)."""
        query = urlencode({"measurement_id": token.measurement_id, "api_secret": token.api_secret})
        return f"{self.endpoint}{'&' if '?' in self.endpoint else '?'}{query}"

    def _route(self, token: Token) -> tuple[str, dict[str, str], str]:
        key = (token.measurement_id, token.api_secret)
        route = self._routes.get(key)
        if route is None:
            url = self.url_for(token)
            prepared = self._session.prepare_request(requests.Request("POST", url))
            # urllib3 sets the body's own Content-Length; a prepared POST without a body says 0.
            headers = {k: v for k, v in prepared.headers.items() if k.lower() != "content-length"}
            adapter = self._adapter
            target = adapter.request_url(prepared, self._session.proxies) if adapter else url
            route = self._routes[key] = (target, headers, prepared.url or url)
        return route

    def _connection_pool(self) -> Any:
        pool = self._pool
        if pool is None and self._adapter is not None:
            # Only the scheme, host and port matter: one pool serves every token.
            request = requests.Request("POST", self.endpoint).prepare()
            verify = True if self._session.verify is None else self._session.verify
            pool = self._adapter.get_connection_with_tls_context(
                request, verify, proxies=self._session.proxies, cert=None)
            self._adapter.cert_verify(pool, self.endpoint, verify, None)
            self._pool = pool
        return pool

    def _post(self, token: Token, body: bytes, timeout: float) -> Answer:
        try:
            url, headers, full_url = self._route(token)
            pool = self._connection_pool()
        except (requests.RequestException, u3.HTTPError, ValueError, OSError) as exc:
            raise _Failed(f"request error {type(exc).__name__}") from None
        if pool is None:  # a caller's session: used as given
            return post_with_session(self._session, full_url, body, timeout)
        try:
            return post_on_pool(pool, url, headers, body, timeout)
        except _Retryable:
            # Looked up again for the next attempt: the pool may have been closed under us (a
            # ClosedPoolError, the session closed); the manager hands back the same one otherwise.
            self._pool = None
            raise

    def _attempt(self, token: Token, body: bytes, deadline: float) -> bool:
        if self.shutdown_event.is_set():
            raise _ShuttingDown
        # A hung GA must not hold the last attempt past the budget either.
        timeout = max(0.001, min(self.timeout, deadline - time.monotonic()))
        self.attempts += 1
        status, headers, content = self._post(token, body, timeout)
        if 200 <= status < 300:
            if self.validate:
                log_validation(token.name, content)
            return True
        if status == 429 or 500 <= status < 600:
            raise _Retryable(f"HTTP {status}", parse_retry_after(headers.get("Retry-After")))
        raise _Failed(f"HTTP {status} (not retried)")

    def _fail(self, token: Token, what: str) -> None:
        self.last_error = what
        # One message per token per window, whatever the failure: a flapping GA must not flood logs.
        log_per_window(f"send:{id(self)}:{token.name}", logging.WARNING,
                       "Google Analytics exporter: sending to token %s failed: %s; these events "
                       "are dropped (logged once per window)", token.name, what)

    # --- retries ---------------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> None:
        # Sleeping on the event lets shutdown cut a backoff short.
        self.shutdown_event.wait(seconds)

    def send(self, token: Token, body: bytes, deadline: float | None = None) -> bool:
        """POST ``body`` for ``token``; retry what is retryable. Return whether GA took it.

        Instrumentation is suppressed meanwhile: the exporter's own requests make no spans.
        """
        suppressed = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
        try:
            return self._send(token, body, deadline)
        finally:
            detach(suppressed)

    def _send(self, token: Token, body: bytes, deadline: float | None = None) -> bool:
        """:meth:`send`, without the suppression: a plain retry loop.

        Retries stop at ``deadline`` (a ``time.monotonic()``; default: one budget from now) or at
        shutdown, whichever comes first. A send whose deadline has passed, because earlier sends
        of the same export spent the budget, is not attempted: it fails with the last failure's
        reason.
        """
        if deadline is None:
            deadline = self.deadline()
        elif time.monotonic() >= deadline:
            why = self._last_failure or "no time left"
            self._fail(token, f"{why}; not attempted, the export's retry budget is spent")
            return False
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(token, body, deadline)
            except _Retryable as exc:
                failure = exc
            except _Failed as exc:
                self._fail(token, exc.what)
                return False
            except _ShuttingDown:
                self._fail(token, "exporter shut down before delivery")
                return False
            if self.shutdown_event.is_set() or time.monotonic() >= deadline:
                self._last_failure = failure.what
                self._fail(token, f"{failure.what}, gave up after {attempt} attempt(s)")
                return False
            self._sleep(backoff_delay(failure, attempt, deadline, initial=self.BACKOFF_INITIAL,
                                      maximum=self.BACKOFF_MAX, jitter=self.BACKOFF_JITTER))
