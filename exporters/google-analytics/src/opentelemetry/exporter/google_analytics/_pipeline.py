"""What both exporters share: settings resolved into tokens, identity and transport; delivery."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import requests
from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics._batching import body_head, pack_bodies, serialize
from opentelemetry.exporter.google_analytics._delivery import (
    DeliveryObserver,
    drop_counter,
    guarded,
    merge_tokens,
)
from opentelemetry.exporter.google_analytics._endpoint import endpoint_problem, parse_endpoint
from opentelemetry.exporter.google_analytics._identity import process_client_id, read_client_id
from opentelemetry.exporter.google_analytics._log import log_once, log_per_window
from opentelemetry.exporter.google_analytics._transport import _Transport
from opentelemetry.exporter.google_analytics._watch import django_debug, settings_fingerprint
from opentelemetry.exporter.google_analytics.events import GAEvent
from opentelemetry.exporter.google_analytics.limits import sanitize_event, sanitize_user_properties
from opentelemetry.exporter.google_analytics.settings import (
    parse_bool,
    parse_positive_float,
    parse_str,
    resolve,
    resolve_fail_closed,
)
from opentelemetry.exporter.google_analytics.tokens import Token, load_tokens

#: A string, or a callable returning one (``None``: not known yet, see ``_Pipeline.client_id``).
ClientId = str | Callable[[], str | None]
UserProperties = Mapping[str, Any] | Callable[[], Mapping[str, Any]]
TokenSource = Callable[[], Iterable[Token]]


class _Pipeline:
    """Tokens + identity + transport; turns sanitized events into delivered requests.

    Settings are resolved when first needed and again whenever one of them changes, never only at
    construction: under ``opentelemetry-instrument`` the exporter is built before Django has
    loaded its settings, and the admin's tokens usually live there.
    """

    def __init__(
        self,
        tokens: Sequence[Token | Mapping[str, Any]] | str | None,
        measurement_id: str | None,
        api_secret: str | None,
        page_views: bool | None,
        celery_events: bool | None,
        daily_stats: bool | None,
        ignore_paths: Sequence[str] | str | None,
        endpoint: str | None,
        timeout: float | None,
        validate: bool | None,
        client_id: ClientId | None,
        user_properties: UserProperties | None,
        session: requests.Session | None,
        token_source: TokenSource | None = None,
        delivery_observer: DeliveryObserver | None = None,
    ) -> None:
        # Wrapped once: whatever the observer raises is logged and never breaks an export.
        self._on_delivery = guarded(delivery_observer.on_delivery) \
            if delivery_observer is not None else None
        self.drops = drop_counter(delivery_observer)
        self._token_args = (tokens, measurement_id, api_secret, page_views, celery_events,
                            daily_stats, ignore_paths)
        self._endpoint_arg, self._timeout_arg, self._validate_arg = endpoint, timeout, validate
        self._client_id_arg = client_id
        self._token_source = token_source
        self._session_arg = session
        self._fingerprint: tuple[Any, ...] | None = None
        self._lock = threading.Lock()
        self._tokens: list[Token] = []
        self.transport: _Transport = _Transport(env.DEFAULT_ENDPOINT, env.DEFAULT_TIMEOUT, False,
                                                session)
        self._client_id_source: ClientId | None = None
        self._client_id: str | None = None
        self._user_properties_source = user_properties
        self._user_properties: dict[str, dict[str, Any]] | None = None
        self.requests_sent = 0
        self.refresh()

    def refresh(self) -> None:
        """Resolve the settings again if any of them changed since the last time."""
        fingerprint = settings_fingerprint()
        if fingerprint == self._fingerprint:
            return
        with self._lock:
            if fingerprint == self._fingerprint:
                return
            self._tokens = load_tokens(*self._token_args)
            # An unreadable setting (a tuple from a trailing comma, bytes, "", not a URL) is
            # reported by resolve_fail_closed and gives None: GA delivery off, never the default.
            endpoint = resolve_fail_closed(env.OTEL_EXPORTER_GA_ENDPOINT, self._endpoint_arg,
                                           env.DEFAULT_ENDPOINT, parse_endpoint, None,
                                           "nothing is sent to GA until it is fixed")
            problem = "unreadable" if endpoint is None else endpoint_problem(endpoint)
            if endpoint is not None and problem is not None:  # a constructor argument
                # No fallback to Google's default endpoint: the admin chose another one on
                # purpose (EU collection, a proxy), so data must not go elsewhere. GA delivery
                # alone is off; the value is not quoted (a URL may hold credentials).
                log_once(f"setting:{env.OTEL_EXPORTER_GA_ENDPOINT}:{problem}", logging.ERROR,
                         "Google Analytics exporter: the setting %s is invalid (%s); nothing is "
                         "sent to GA until it is fixed", env.OTEL_EXPORTER_GA_ENDPOINT, problem)
            timeout = resolve(env.OTEL_EXPORTER_GA_TIMEOUT, self._timeout_arg, env.DEFAULT_TIMEOUT,
                              parse_positive_float)
            validate = resolve(env.OTEL_EXPORTER_GA_VALIDATE, self._validate_arg, None, parse_bool)
            if validate is None:
                validate = django_debug()
            self.transport.configure(endpoint or "", timeout, validate, usable=problem is None)
            # A callable source may itself read these settings (the otel_aa distro's does): any
            # change of them asks it again.
            self._client_id_source = resolve(env.OTEL_EXPORTER_GA_CLIENT_ID, self._client_id_arg,
                                             None, parse_str)
            self._client_id = None
            self._fingerprint = fingerprint

    @property
    def tokens(self) -> list[Token]:
        """The configured tokens, plus those ``token_source`` gives now (read at each call)."""
        self.refresh()
        if self._token_source is None:
            return self._tokens
        try:
            extra = list(self._token_source())
        except Exception as exc:
            log_per_window("token_source", logging.WARNING,
                           "Google Analytics exporter: the token source failed (%s); sending to "
                           "the configured tokens only", type(exc).__name__)
            return self._tokens
        return merge_tokens(self._tokens, [t for t in extra if isinstance(t, Token)])

    def __repr__(self) -> str:
        return f"tokens={self.tokens!r}, transport={self.transport!r}"

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
        if self._client_id is not None:
            return self._client_id
        source = self._client_id_source
        if source is None:
            return process_client_id()
        self._client_id = read_client_id(source)
        return self._client_id

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
        # Fails closed: an unreadable value ("y", "2", a list) means disabled.
        return bool(resolve_fail_closed(env.ANALYTICS_DISABLED, None, env.DEFAULT_ANALYTICS_DISABLED,
                                        parse_bool, True, "nothing is sent to GA until it is fixed"))

    def sanitize(self, events: Iterable[GAEvent | None]) -> list[GAEvent]:
        clean = []
        for event in events:
            if event is not None:
                fitted = sanitize_event(event, self.drops)
                if fitted is not None:
                    clean.append(fitted)
        return clean

    def _bodies(self, fragments: list[bytes]) -> Iterator[tuple[bytes, int]]:
        """Request bodies of ≤25 events and < 130 kB each, with the number of events in each."""
        yield from pack_bodies(body_head(self.client_id(), self.user_properties()), fragments, self.drops)

    def bodies_for(self, events: Iterable[GAEvent]) -> list[bytes]:
        """The request bodies ``events`` would be sent in (for one token that admits them all)."""
        fragments = (self._serialize(e) for e in events)
        return [body for body, _ in self._bodies([f for f in fragments if f is not None])]

    def _serialize(self, event: GAEvent) -> bytes | None:
        """``event`` as JSON bytes; ``None`` (counted) when it can't be: it alone is lost."""
        try:
            return serialize(event)
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            self.drops.add(f"event could not be serialized ({type(exc).__name__})")
            return None

    def deliver(self, events: list[GAEvent], tokens: Sequence[Token] | None = None) -> bool:
        """Send sanitized ``events`` to every token that admits them. Return whether all went.

        Events that don't reach a token (GA unreachable after retries, a refused body, shutdown)
        are counted in :attr:`drops`, once per token. All sends of one call share one retry
        budget (``_Transport.MAX_RETRY_SECONDS``): a flush with GA down ends within it, however
        many tokens and request bodies it holds.
        """
        tokens = self.tokens if tokens is None else tokens
        if not events or not tokens or self.disabled():
            return True
        if not self.transport.usable:
            # The endpoint setting is invalid (reported once when it was read): nothing can go.
            self.drops.add("endpoint setting invalid", len(events), log=False)
            return False
        if self.client_id() is None:  # kept once known: _bodies() reads the cached value
            self.drops.add("client_id not known yet", len(events), log=False)
            return False
        fragments: dict[int, bytes | None] = {}
        deadline = self.transport.deadline()
        ok = True
        for token in tokens:
            chosen = []
            for index, event in enumerate(events):
                if token.admits(event):
                    if index not in fragments:
                        fragments[index] = self._serialize(event)
                    fragment = fragments[index]
                    if fragment is not None:
                        chosen.append(fragment)
            for body, count in self._bodies(chosen):
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
                ok = sent and ok
        return ok

    def shutdown(self) -> None:
        self.transport.close()


def build_pipeline(kwargs: dict[str, Any]) -> _Pipeline | None:
    """Build the pipeline; never raise (a broken build is logged once and sends nothing)."""
    try:
        return _Pipeline(**kwargs)
    except Exception as exc:
        log_once(f"build:{type(exc).__name__}", logging.ERROR,
                 "Google Analytics exporter could not start (%s); nothing will be sent to GA",
                 type(exc).__name__)
        return None
