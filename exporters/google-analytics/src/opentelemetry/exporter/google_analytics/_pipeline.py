"""What both exporters share: settings resolved into tokens, identity and transport; delivery."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics._arguments import (
    ClientId,
    ExporterArgs,
    TokenSource,
    UserProperties,
)
from opentelemetry.exporter.google_analytics._batching import body_head, pack_events
from opentelemetry.exporter.google_analytics._config import GAConfig, register, resolve_config
from opentelemetry.exporter.google_analytics._delivery import (
    DeliveryObserver,
    admission,
    drop_counter,
    guarded,
)
from opentelemetry.exporter.google_analytics._events import GAEvent
from opentelemetry.exporter.google_analytics._identity import process_client_id, read_client_id
from opentelemetry.exporter.google_analytics._limits import sanitize_events, sanitize_user_properties
from opentelemetry.exporter.google_analytics._log import log_once, log_per_window
from opentelemetry.exporter.google_analytics._tokens import Token, merge_tokens
from opentelemetry.exporter.google_analytics._transport import _Transport

__all__ = ["ClientId", "DeliveryObserver", "TokenSource", "UserProperties", "build_pipeline"]

#: How long an export steps aside (:meth:`_Pipeline.step_aside`) between stretches of its work.
#: The export is background work on a thread of the site's own process: a request thread that
#: came to wait for the GIL while the export mapped spans, built a body or read GA's answer takes
#: it now, instead of waiting out the export's stretch of Python (up to the interpreter's switch
#: interval, twice over for a batch of 500 spans mapped at once). A sleep, not ``sleep(0)``,
#: which takes the GIL straight back unless the woken thread gets there first: nothing promises
#: it does. An export of 500 spans to three tokens steps aside 80 times (20 chunks of spans, 60
#: requests), which adds about 12 ms to its wall time, next to GA's own round trips, and nothing
#: to its CPU (``bench/bench_step_aside.py``, ``bench/bench_export_latency.py``).
_STEP_ASIDE_SECONDS = 1e-4


class _Pipeline:
    """Tokens + identity + transport; turns sanitized events into delivered requests.

    Its settings are one frozen :class:`.GAConfig`, resolved at construction and again only by
    :meth:`reload` (:func:`.config.reload_settings`, at the moment the host's settings appear).
    An export reads :attr:`config`; the transport takes a new configuration on the export thread,
    at its next delivery, so a reload never closes a session a send is using.
    """

    def __init__(self, args: ExporterArgs, stats_interval: float | None = None) -> None:
        self._args, self._stats_interval = args, stats_interval
        delivery_observer: DeliveryObserver | None = args.get("delivery_observer")
        # Wrapped once: whatever the observer raises is logged and never breaks an export.
        self._on_delivery = guarded(delivery_observer.on_delivery) \
            if delivery_observer is not None else None
        self.drops = drop_counter(delivery_observer)
        self._token_source: TokenSource | None = args.get("token_source")
        self._lock = threading.Lock()
        self.config: GAConfig = resolve_config(args, stats_interval)
        # An unusable endpoint (None) is never parsed nor sent to: _apply_config marks it so.
        self.transport: _Transport = _Transport(self.config.endpoint or env.DEFAULT_ENDPOINT,
                                                self.config.timeout, self.config.validate,
                                                args.get("session"))
        self._configured = self.config
        self._apply_config()
        #: (config, value): the client_id known under that config (see :meth:`client_id`).
        self._client_id: tuple[GAConfig, str] | None = None
        self._user_properties_source: UserProperties | None = args.get("user_properties")
        self._user_properties: dict[str, dict[str, Any]] | None = None
        self.requests_sent = 0
        register(self)

    def reload(self) -> None:
        """Resolve the settings again from the original arguments (see :func:`.reload_settings`)."""
        self.config = resolve_config(self._args, self._stats_interval)

    def _apply_config(self) -> None:
        """Point the transport at the configuration in force, if it changed (export thread)."""
        config = self.config
        if config is self._configured and self.transport.usable == config.endpoint_usable:
            return
        with self._lock:
            self.transport.configure(config.endpoint or env.DEFAULT_ENDPOINT, config.timeout,
                                     config.validate, usable=config.endpoint_usable)
            self._configured = config

    @property
    def tokens(self) -> list[Token]:
        """The configured tokens, plus those ``token_source`` gives now (read at each call)."""
        configured = list(self.config.tokens)
        if self._token_source is None:
            return configured
        try:
            extra = list(self._token_source())
        except Exception as exc:
            log_per_window("token_source", logging.WARNING,
                           "Google Analytics exporter: the token source failed (%s); sending to "
                           "the configured tokens only", type(exc).__name__)
            return configured
        return merge_tokens(configured, [t for t in extra if isinstance(t, Token)])

    def __repr__(self) -> str:
        return f"tokens={self.tokens!r}, transport={self.transport!r}"

    def step_aside(self) -> None:
        """Let a thread waiting for the GIL (a request) take it: see ``_STEP_ASIDE_SECONDS``."""
        time.sleep(_STEP_ASIDE_SECONDS)

    def _observe(self, token: Token, body: bytes, sent: bool) -> None:
        if self._on_delivery is not None:
            reason = None if sent else (self.transport.last_error or "not delivered")
            self._on_delivery(token, body, "sent" if sent else "failed", reason)

    # --- identity, evaluated on the export thread and cached ------------------------------------

    def client_id(self) -> str | None:
        """The ``client_id`` to send under; ``None``: not known yet, nothing can be sent.

        A ``client_id`` callable that returns ``None`` or raises means "not known yet" (the
        install's identity can't be read now): the events of that export are not sent under a
        made-up id, which GA would count as another client, but dropped and counted, and the
        callable is asked again at the next export. The first value it gives is kept.
        """
        config = self.config
        cached = self._client_id
        if cached is not None and cached[0] is config:
            return cached[1]
        source = config.client_id
        if source is None:
            return process_client_id()
        value = read_client_id(source)
        if value is not None:
            self._client_id = (config, value)
        return value

    def user_properties(self) -> dict[str, dict[str, Any]]:
        if self._user_properties is not None:
            return self._user_properties
        source = self._user_properties_source
        if source is None:
            self._user_properties = {}
            return self._user_properties
        try:
            value = source() if callable(source) else source
            props = sanitize_user_properties(value, self.drops)
        except Exception as exc:
            log_per_window("user_properties", logging.WARNING,
                           "Google Analytics exporter: the user_properties failed (%s); sending "
                           "none for now", type(exc).__name__)
            return {}
        self._user_properties = props
        return props

    # --- payloads --------------------------------------------------------------------------------

    def disabled(self) -> bool:
        return self.config.disabled

    def sanitize(self, events: Iterable[GAEvent | None]) -> list[GAEvent]:
        return sanitize_events(events, self.drops)

    def _head(self) -> bytes:
        return body_head(self.client_id(), self.user_properties())

    def bodies_for(self, events: Iterable[GAEvent]) -> list[bytes]:
        """The request bodies ``events`` would be sent in (for one token that admits them all)."""
        return [body for body, _ in pack_events(self._head(), list(events), self.drops)]

    def deliver(self, events: list[GAEvent], tokens: Sequence[Token] | None = None) -> bool:
        """Send sanitized ``events`` to every token that admits them. Return whether all went.

        Tokens that admit the same events (:func:`._delivery.admission`) get the same bodies,
        built once. Events that don't reach a token (GA unreachable after retries, a refused
        body, shutdown) are counted in :attr:`drops`, once per token. All sends of one call
        share one retry budget (``_Transport.MAX_RETRY_SECONDS``): a flush with GA down ends
        within it, however many tokens and request bodies it holds.
        """
        tokens = self.tokens if tokens is None else tokens
        self._apply_config()
        if not events or not tokens or self.disabled():
            return True
        if not self.transport.usable:
            # The endpoint setting is invalid (reported once when it was read): nothing can go.
            self.drops.add("endpoint setting invalid", len(events), log=False)
            return False
        if self.client_id() is None:  # kept once known: _head() reads the cached value
            self.drops.add("client_id not known yet", len(events), log=False)
            return False
        head = self._head()
        groups: dict[Token, list[Token]] = {}
        for token in tokens:
            groups.setdefault(admission(token), []).append(token)
        counted: set[int] = set()  # events whose loss was counted already
        deadline = self.transport.deadline()
        ok = True
        for members in groups.values():
            chosen = [event for event in events if members[0].admits(event)]
            # Each body goes to the group's tokens one after another: an observer that reads a
            # body (the distro's ledger) reads it once for all of them.
            for body, count in pack_events(head, chosen, self.drops, counted):
                for token in members:
                    self.step_aside()
                    ok = self._send(token, body, count, deadline) and ok
        return ok

    def _send(self, token: Token, body: bytes, count: int, deadline: float) -> bool:
        if self.transport.shutdown_event.is_set():
            sent = False
            self.transport.last_error = "exporter shut down before delivery"
        else:
            self.requests_sent += 1
            sent = self.transport.send(token, body, deadline)
        self._observe(token, body, sent)
        if not sent:
            # The transport logged why, once per window; here the loss is counted.
            self.drops.add("events not delivered to GA", count, log=False)
        return sent

    def shutdown(self) -> None:
        self.transport.close()


def build_pipeline(args: ExporterArgs, stats_interval: float | None = None) -> _Pipeline | None:
    """Build the pipeline; never raise (a broken build is logged once and sends nothing)."""
    try:
        return _Pipeline(args, stats_interval)
    except Exception as exc:
        log_once(f"build:{type(exc).__name__}", logging.ERROR,
                 "Google Analytics exporter could not start (%s); nothing will be sent to GA",
                 type(exc).__name__)
        return None
