"""HTTP delivery to the Measurement Protocol: one pooled session, timeouts, bounded retries.

Isolation from the host: the exporter's own requests go to its own ``HTTPAdapter`` through the
adapter class's ``send`` as this module found it at import, not through ``Session.send``. So a
host test suite's HTTP mocks (``responses`` patches ``HTTPAdapter.send``, ``requests_mock``
``Session.get_adapter`` and ``Session.send``) neither record nor refuse GA's requests, and the
host's requests instrumentation (which wraps ``Session.send``) makes no span of them. Each send
also runs with OpenTelemetry's suppress-instrumentation key set, as the SDK's batch processors
do around their exporters, for instrumentations further down (urllib3). Calling the adapter
directly skips what GA's requests never need (hooks, cookies, redirects, the environment).
A session passed in by the caller is used as given (``Session.send``): that is their choice.

The API secret travels in the query string, so it is kept out of everything this module logs
or raises: messages are our own (status code, exception type, token name), never ``str(exc)``
of a requests exception, and a filter masks ``api_secret=`` in urllib3's DEBUG lines
(:mod:`._secrets`, installed when this module is imported). The retry policy is :mod:`._retry`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from urllib.parse import urlencode

import requests
import requests.adapters
from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY, attach, detach, set_value
from opentelemetry.exporter.google_analytics._endpoint import debug_endpoint
from opentelemetry.exporter.google_analytics._log import log_per_window
from opentelemetry.exporter.google_analytics._retry import (
    _Retryable,
    _ShuttingDown,
    backoff_delay,
    parse_retry_after,
)
from opentelemetry.exporter.google_analytics._secrets import mask_url, scrub
from opentelemetry.exporter.google_analytics.tokens import Token
from tenacity import RetryCallState, RetryError, Retrying, retry_if_exception_type

_logger = logging.getLogger("opentelemetry.exporter.google_analytics")

# Bound now, before any test patches the class (see the module's docstring).
_HTTPAdapter = requests.adapters.HTTPAdapter
_ADAPTER_SEND = requests.adapters.HTTPAdapter.send


class _Transport:
    """Sends request bodies to one endpoint for any number of tokens."""

    #: Total time one send may spend retrying, in seconds.
    MAX_RETRY_SECONDS = 30.0
    #: First backoff and its cap, in seconds (exponential, with full jitter on top).
    BACKOFF_INITIAL = 0.5
    BACKOFF_MAX = 8.0
    BACKOFF_JITTER = 0.5

    def __init__(
        self,
        endpoint: str,
        timeout: float,
        validate: bool,
        session: requests.Session | None = None,
    ) -> None:
        self.endpoint = debug_endpoint(endpoint) if validate else endpoint
        self.timeout = timeout
        self.validate = validate
        #: False while the configured endpoint is invalid: nothing can be sent.
        self.usable = True
        self.shutdown_event = threading.Event()
        self._own_session = session is None
        #: The adapter the own session's requests go to directly; None with a caller's session.
        self._adapter: requests.adapters.HTTPAdapter | None = None
        self._session = session if session is not None else self._new_session(self.endpoint)
        self.attempts = 0  # HTTP calls made, for tests and the benchmark
        self._last_failure: str | None = None  # why the last send gave up (no data in it)
        #: Why the last failed send failed (a fixed, data-free text), for delivery observers.
        self.last_error: str | None = None
        # One prepared request per token, copied per send: preparing URL and headers anew for
        # every batch was a third of the client's time.
        self._templates: dict[Token, requests.PreparedRequest] = {}
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
                old, self._session = self._session, self._new_session(target)
                old.close()
            self._templates = {}

    def __repr__(self) -> str:
        return (f"_Transport(endpoint={mask_url(self.endpoint)!r}, timeout={self.timeout}, "
                f"validate={self.validate})")

    def _new_session(self, endpoint: str) -> requests.Session:
        session = requests.Session()
        # Mounted for closing with the session; sends call it directly (see the module's docstring).
        self._adapter = _HTTPAdapter()
        session.mount("https://", self._adapter)
        session.mount("http://", self._adapter)
        session.headers["Content-Type"] = "application/json"
        session.headers["User-Agent"] = "opentelemetry-exporter-google-analytics"
        # Proxy and CA-bundle environment variables are read once here, not on every request
        # (requests would scan the whole environment per call: a third of the exporter's time).
        session.proxies.update(requests.utils.get_environ_proxies(endpoint))
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            session.verify = bundle
        session.trust_env = False
        return session

    def _after_fork(self) -> None:
        # A pooled connection shared with the parent would interleave bytes on one socket.
        if self._own_session:
            self._session = self._new_session(self.endpoint)
            self._templates = {}

    def _template(self, token: Token) -> requests.PreparedRequest:
        query = urlencode({"measurement_id": token.measurement_id, "api_secret": token.api_secret})
        url = f"{self.endpoint}{'&' if '?' in self.endpoint else '?'}{query}"
        return self._session.prepare_request(requests.Request("POST", url))

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

    def _attempt(self, token: Token, body: bytes, deadline: float | None = None) -> bool:
        if self.shutdown_event.is_set():
            raise _ShuttingDown
        timeout = self.timeout
        if deadline is not None:
            # A hung GA must not hold the last attempt past the budget either.
            timeout = max(0.001, min(timeout, deadline - time.monotonic()))
        self.attempts += 1
        try:
            template = self._templates.get(token)
            if template is None:
                template = self._templates[token] = self._template(token)
            request = template.copy()
            request.prepare_body(body, None)
            adapter = self._adapter
            if adapter is not None:
                verify = True if self._session.verify is None else self._session.verify
                response = _ADAPTER_SEND(adapter, request, stream=False, timeout=timeout,
                                         verify=verify, cert=None, proxies=self._session.proxies)
                _ = response.content  # read to the end: the connection goes back to the pool
            else:
                response = self._session.send(request, timeout=timeout, allow_redirects=False)
        except requests.Timeout:
            raise _Retryable("timed out") from None
        except requests.ConnectionError:
            raise _Retryable("connection failed") from None
        except requests.RequestException as exc:
            # Type only: a requests exception's text quotes the URL, secret included.
            self._fail(token, f"request error {type(exc).__name__}")
            return False
        status = response.status_code
        if status == 429 or 500 <= status < 600:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            response.close()
            raise _Retryable(f"HTTP {status}", retry_after)
        if 200 <= status < 300:
            if self.validate:
                self._log_validation(token, response)
            return True
        response.close()
        self._fail(token, f"HTTP {status} (not retried)")
        return False

    def _log_validation(self, token: Token, response: requests.Response) -> None:
        try:
            messages = json.loads(response.content or b"{}").get("validationMessages", [])
        except (ValueError, AttributeError):
            log_per_window(f"validate-garbage:{token.name}", logging.WARNING,
                           "Google Analytics validation server sent an unreadable answer "
                           "for token %s", token.name)
            return
        for message in messages if isinstance(messages, list) else ():
            if isinstance(message, dict):
                _logger.warning(
                    "Google Analytics validation (token %s): %s: %s [%s]",
                    token.name,
                    scrub(str(message.get("fieldPath", ""))),
                    scrub(str(message.get("description", ""))),
                    scrub(str(message.get("validationCode", ""))),
                )

    def _give_up(self, token: Token, what: str, attempts: int) -> None:
        self._last_failure = what
        self._fail(token, f"{what}, gave up after {attempts} attempt(s)")

    def _fail(self, token: Token, what: str) -> None:
        self.last_error = what
        # One message per token per window, whatever the failure: a flapping GA must not flood logs.
        log_per_window(f"send:{id(self)}:{token.name}", logging.WARNING,
                       "Google Analytics exporter: sending to token %s failed: %s; these events "
                       "are dropped (logged once per window)", token.name, what)

    # --- retries ---------------------------------------------------------------------------------

    def _delay(self, exc: BaseException | None, attempt_number: int, deadline: float) -> float:
        """Seconds to wait after failed attempt ``attempt_number`` (1-based)."""
        return backoff_delay(exc, attempt_number, deadline, initial=self.BACKOFF_INITIAL,
                             maximum=self.BACKOFF_MAX, jitter=self.BACKOFF_JITTER)

    def _stop_at(self, deadline: float) -> bool:
        return self.shutdown_event.is_set() or time.monotonic() >= deadline

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
        """:meth:`send`, without the suppression.

        Retries stop at ``deadline`` (a ``time.monotonic()``; default: one budget from now). A
        send whose deadline has passed, because earlier sends of the same export spent the
        budget, is not attempted: it fails with the last failure's reason.
        """
        if deadline is None:
            deadline = self.deadline()
        elif time.monotonic() >= deadline:
            why = self._last_failure or "no time left"
            self._fail(token, f"{why}; not attempted, the export's retry budget is spent")
            return False
        try:
            # The first attempt without tenacity's bookkeeping: nearly every send succeeds at once.
            return self._attempt(token, body, deadline)
        except _Retryable as exc:
            first = exc
        except _ShuttingDown:
            self._fail(token, "exporter shut down before delivery")
            return False
        if self._stop_at(deadline):
            self._give_up(token, first.what, 1)
            return False
        self._sleep(self._delay(first, 1, deadline))

        def wait(state: RetryCallState) -> float:
            outcome = state.outcome.exception() if state.outcome is not None else None
            return self._delay(outcome, state.attempt_number + 1, deadline)

        retrying = Retrying(
            retry=retry_if_exception_type(_Retryable),
            stop=lambda state: self._stop_at(deadline),
            wait=wait,
            sleep=self._sleep,
            reraise=False,
        )
        try:
            return bool(retrying(self._attempt, token, body, deadline))
        except RetryError as exc:
            last = exc.last_attempt.exception()
            what = last.what if isinstance(last, _Retryable) else type(last).__name__
            self._give_up(token, what, exc.last_attempt.attempt_number + 1)
            return False
        except _ShuttingDown:
            self._fail(token, "exporter shut down before delivery")
            return False
