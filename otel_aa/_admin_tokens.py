"""The GA destinations an admin manages in Django's admin, as the exporters' ``token_source``.

- With Alliance Auth: AA's GA-V4 ``AnalyticsTokens``. Daily stats follow AA's own ``send_stats``;
  page views, Celery events (per run, or as counts: ``aggregate_celery_events``) and ignore paths
  follow otel-aa's :class:`~otel_aa.models.AATokenSwitches` row of that token. A token without a
  row sends neither (AA 5 sends no such data: a new flow starts only when the admin switches it on).
- Without AA: otel-aa's own :class:`~otel_aa.models.GAToken` rows.

:data:`token_source` is what both exporters call on their threads. It reads the database at most
once per :data:`CACHE_SECONDS` per process (reads only), so a change made in the admin reaches
every gunicorn worker, Celery worker and beat within that time, without a restart. Sooner, in
fact: a save in the admin calls :func:`announce_change`, which puts a new generation in Django's
cache (AA: Redis); each export compares it (one cache read) and reads the tokens again when it
moved. :func:`invalidate` makes this process's next call read again (tests).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from opentelemetry.exporter.google_analytics import Token, parse_token

from otel_aa._guard import log_once

__all__ = ["AA_TEAM_MEASUREMENT_ID", "CACHE_SECONDS", "aa_stats_tokens", "announce_change", "invalidate",
           "parse_paths", "token_source"]

_logger = logging.getLogger(__name__)

#: How long a process keeps the tokens it read before reading them again.
CACHE_SECONDS = 30.0
#: The AA team's public token, which AA's migration ``analytics.0011_v5squash`` pre-loads.
AA_TEAM_MEASUREMENT_ID = "G-6LYSMYK8DE"
_AA_GA4 = "GA-V4"
_GENERATION_KEY = "otel_aa:admin_tokens:generation"


def _generation() -> Any:
    """The admin's change counter in the shared cache; None when unset or unreadable."""
    try:
        from django.core.cache import cache

        return cache.get(_GENERATION_KEY)
    except Exception:  # the 30 s age limit still applies: a change arrives, only later
        return None


def parse_paths(text: str) -> list[str]:
    """The ignore rules of a text field: one regular expression per non-blank line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _compile(text: str, where: str) -> tuple[tuple[str, ...], bool]:
    """The compiled rules, and whether all compiled (the admin form rejects bad ones already)."""
    compiled = []
    for pattern in parse_paths(text):
        try:
            compiled.append(re.compile(pattern))
        except re.error:
            log_once(f"admin-tokens:path:{where}", logging.ERROR,
                     "otel-aa: %s has an ignore path that is not a regular expression; its page "
                     "views are off until it is fixed", where, logger=_logger)
            return (), False
    return tuple(p.pattern for p in compiled), True


def _apps_ready() -> bool:
    try:
        from django.apps import apps
    except ImportError:
        return False
    return bool(apps.ready)


def aa_tokens() -> list[Token]:
    """AA's GA-V4 tokens with otel-aa's switches (every one, flags off included); [] without AA."""
    from otel_aa import _compat as compat

    models = compat.aa_models()
    if models is None:
        return []
    from otel_aa.models import AATokenSwitches

    rows = list(models.AnalyticsTokens.objects.filter(type=_AA_GA4).order_by("pk"))
    switches = {s.aa_token_id: s for s in
                AATokenSwitches.objects.filter(aa_token_id__in=[r.pk for r in rows])}
    tokens: list[Token] = []
    for row in rows:
        if not row.token or not row.secret:
            log_once(f"admin-tokens:aa-{row.pk}", logging.WARNING,
                     "otel-aa: Alliance Auth analytics token #%s has no measurement id or secret; "
                     "skipped", row.pk, logger=_logger)
            continue
        switch = switches.get(row.pk)
        where = f"analytics token #{row.pk}"
        paths, paths_ok = _compile(switch.ignore_paths if switch else "", where)
        # Switches go to parse_token as stored: a value that isn't a boolean fails closed there
        # (a stream off; task events as counts), logged once.
        _add(tokens, where, {
            "name": f"aa:{row.name}", "measurement_id": row.token, "api_secret": row.secret,
            "page_views": switch.page_views if switch and paths_ok else False,
            "celery_events": switch.celery_events if switch else False,
            "aggregate_celery_events": switch.aggregate_celery_events if switch else False,
            "daily_stats": bool(row.send_stats), "ignore_paths": paths,
        })
    return tokens


def _add(tokens: list[Token], where: str, spec: dict[str, Any]) -> None:
    """Append the token ``spec`` stands for, checked as a configured one is; a bad one is skipped."""
    try:
        tokens.append(parse_token(spec, where))
    except ValueError as exc:
        # The exporter's reason names the problem and masks what may be a secret.
        log_once(f"admin-tokens:{where}:{exc}", logging.ERROR, "otel-aa: %s %s; skipped", where, exc,
                 logger=_logger)


def own_tokens() -> list[Token]:
    """otel-aa's own admin tokens (:class:`~otel_aa.models.GAToken`); [] where AA's serve instead."""
    from otel_aa import _compat as compat

    if compat.aa_models() is not None:
        return []
    from otel_aa.models import GAToken

    tokens: list[Token] = []
    for row in GAToken.objects.order_by("pk"):
        where = f"Google Analytics token #{row.pk}"
        paths, paths_ok = _compile(row.ignore_paths, where)
        if not row.measurement_id.strip() or not row.api_secret.strip():
            continue
        _add(tokens, where, {  # the flags as stored, as above
            "name": row.name or row.measurement_id, "measurement_id": row.measurement_id,
            "api_secret": row.api_secret, "page_views": row.page_views if paths_ok else False,
            "celery_events": row.celery_events, "aggregate_celery_events": row.aggregate_celery_events,
            "daily_stats": row.daily_stats, "ignore_paths": paths,
        })
    return tokens


def read_tokens() -> list[Token]:
    """Every admin-managed token, read now (a database query: never on a request/task thread)."""
    from otel_aa._db import may_read, reading

    if not may_read():
        return []  # never a database the host has left, e.g. a test runner's (otel_aa._db)
    with reading():  # closes the connection after: the exporters' threads keep no idle one
        return aa_tokens() + own_tokens()


class AdminTokens:
    """A ``token_source``: :func:`read_tokens`, cached for ``max_age`` seconds; never raises."""

    def __init__(self, max_age: float = CACHE_SECONDS, read: Callable[[], Iterable[Token]] = read_tokens,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age = max_age
        self._read = read
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: list[Token] = []
        self._read_at: float | None = None
        self._generation: Any = None
        self.reads = 0  # database reads made, for tests

    def invalidate(self) -> None:
        with self._lock:
            self._read_at = None

    def _after_fork(self) -> None:
        # A lock an export thread of the parent held at fork would stay locked in the child.
        self._lock = threading.Lock()
        self._read_at = None

    def __call__(self) -> list[Token]:
        from otel_aa import _compat as compat

        if compat.analytics_disabled() or not _apps_ready():
            return []
        generation = _generation()
        with self._lock:
            now = self._clock()
            if self._read_at is not None and now - self._read_at < self.max_age \
                    and generation == self._generation:
                return self._tokens
            try:
                tokens = list(self._read())
            except Exception as exc:
                # Unreadable destinations send nowhere; tried again after max_age, not every export.
                log_once(f"admin-tokens:read:{type(exc).__name__}", logging.WARNING,
                         "otel-aa: could not read the admin's analytics tokens (%s); none of them "
                         "receives anything until they can be read", type(exc).__name__,
                         logger=_logger)
                tokens = []
            self.reads += 1
            self._tokens, self._read_at, self._generation = tokens, now, generation
            return tokens


#: The one source every exporter of the process shares (one read per interval, not one each).
token_source = AdminTokens()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=token_source._after_fork)


def announce_change() -> None:
    """Tell every process that the admin's tokens changed (after a save or delete in the admin)."""
    import uuid

    invalidate()
    try:
        from django.core.cache import cache

        cache.set(_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
    except Exception as exc:  # the others then see the change within CACHE_SECONDS
        log_once(f"admin-tokens:announce:{type(exc).__name__}", logging.WARNING,
                 "otel-aa: could not tell the other processes that a token changed (%s); they "
                 "read it within %d seconds", type(exc).__name__, int(CACHE_SECONDS), logger=_logger)


def invalidate() -> None:
    """Make the next export read the admin's tokens again (after a save in this process, tests)."""
    token_source.invalidate()


def describe(token: Token) -> dict[str, Any]:
    """A token as the admin pages show it: the measurement id in full, the secret masked."""
    from opentelemetry.exporter.google_analytics import mask_secret

    return {
        "name": token.name, "measurement_id": token.measurement_id,
        "api_secret": mask_secret(token.api_secret), "page_views": token.page_views,
        "celery_events": token.celery_events, "daily_stats": token.daily_stats,
        "aggregate_celery_events": token.aggregate_celery_events,
        "ignore_paths": [p.pattern for p in token.ignore_paths],
    }


def aa_stats_tokens() -> list[Token]:
    """AA's GA-V4 ``AnalyticsTokens`` that receive anything, as exporter ``Token``\\ s.

    Each has AA's ``send_stats`` as its daily-stats flag and otel-aa's admin switches (page
    views, Celery events, ignore paths); a token without switches gets the daily stats only, as
    AA 5 itself sends. Tokens with every stream off are left out. Empty without AA, with
    ``ANALYTICS_DISABLED``, or when the tables can't be read. (Was ``otel_aa._compat``'s: here,
    compat and this module no longer import each other.)
    """
    from otel_aa import _compat as compat
    from otel_aa._db import reading

    if compat.analytics_disabled():
        return []
    try:
        with reading():  # otel-aa's read: no shared-cache lock, connection closed after
            tokens = aa_tokens()
    except Exception as exc:
        log_once("compat:tokens-error", logging.WARNING,
                 "otel-aa: could not read Alliance Auth's AnalyticsTokens (%s)", type(exc).__name__,
                 logger=_logger)
        return []
    return [t for t in tokens if t.page_views or t.celery_events or t.daily_stats]
