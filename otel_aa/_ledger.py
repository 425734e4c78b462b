"""What left this server for Google Analytics: a bounded record in Django's cache.

:class:`CacheLedger` is the exporters' delivery observer: the export threads of every process (gunicorn
workers, Celery workers, beat) write to the shared cache (AA: Redis), never a request or task thread.
Everything is bounded: per token the last :data:`KEEP_HITS` request bodies, one counter per event name per
hour for :data:`HOURS` hours (at most :data:`MAX_NAMES` names an hour), the last success and failure,
drops by reason (at most :data:`MAX_REASONS`); at most :data:`MAX_TOKENS` tokens. Bodies hold no secret
(it travels in the URL); tokens are shown with the secret masked. A cache that fails costs the record,
never an export: errors are logged once per window. Counts and the last hits are exact across processes
(atomic increments and list pushes); the short lists of event names and drop reasons are
read-modify-write: a name two processes meet first in the same instant may go unlisted that hour (not
uncounted).

One request body costs one round trip to the cache where it is django-redis (Alliance Auth's): the hit,
the last success or failure and the counters go in one Redis pipeline, the last hits as a list trimmed to
:data:`KEEP_HITS`. Any other cache takes Django's generic API: an ``incr`` numbers the hit for its slot in
a ring, one ``set_many`` writes it, one ``incr`` per counter. Either way the lists of names are read only
when this process meets a new name (an hour's first body) and the token index every ten minutes. With
Django's ``DatabaseCache`` nothing is recorded: its writes would be writes to the host's database from
otel-aa's threads, which only the daily-stats lease may make.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from opentelemetry.exporter.google_analytics import Token, log_per_window, mask_secret

__all__ = ["HOURS", "KEEP_HITS", "CacheLedger", "ledger"]

KEEP_HITS = 20
# Cache backends that store in the host's database.
_DATABASE_CACHES = frozenset({"django.core.cache.backends.db.DatabaseCache"})
HOURS = 24
MAX_NAMES = 30
MAX_REASONS = 20
MAX_TOKENS = 50
#: A body longer than this is kept cut (GA takes up to 130 kB; 25 events are a few kB).
MAX_BODY_CHARS = 32_000
#: Counted per token by :meth:`CacheLedger.on_delivery` already; not counted twice.
_PER_TOKEN_REASON = "events not delivered to GA"
_KEEP_SECONDS = 7 * 86400
_OTHER = "(other)"
_ALL = "*"  # drops before any token: sanitizing, serializing
_Counter = tuple[str, int, int]  # (key, count, timeout)


def token_key(token: Token) -> str:
    """A short key for a destination (measurement id and secret), without the secret in it."""
    digest = hashlib.sha256(f"{token.measurement_id}\0{token.api_secret}".encode()).hexdigest()
    return digest[:16]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _apps_ready() -> bool:
    from django.apps import apps  # on use: this module imports no Django when it is imported
    return bool(apps.ready)


def _iso(moment: float | None) -> str | None:
    when = None if moment is None else _dt.datetime.fromtimestamp(moment, tz=_dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC") if when else None


class CacheLedger:
    """The delivery observer that records into Django's cache ``cache_alias`` (or ``cache``)."""

    def __init__(self, cache_alias: str = "default", prefix: str = "otel_aa:ledger:",
                 clock: Callable[[], float] = time.time, cache: Any = None) -> None:
        self.cache_alias = cache_alias
        self.cache = cache
        self.prefix = prefix
        self.clock = clock
        self._registered: dict[str, float] = {}
        self._known: dict[str, set[str]] = {}  # list key -> members seen (this process)
        self._last_body: tuple[bytes | None, str, list[str]] = (None, "", [])

    def _cache(self) -> Any:
        if self.cache is not None:
            return self.cache
        from django.core.cache import caches

        return caches[self.cache_alias]

    def _recording(self) -> bool:
        """Whether to record now: Django is ready and the cache is not the host's database."""
        if not _apps_ready():
            return False
        if self.cache is not None:
            return True
        from django.conf import settings

        backend = str((settings.CACHES.get(self.cache_alias) or {}).get("BACKEND", ""))
        return backend not in _DATABASE_CACHES

    def _k(self, *parts: object) -> str:
        return self.prefix + ":".join(str(p) for p in parts)

    # --- written on the export threads ---------------------------------------------------------

    def on_delivery(self, token: Token, body: bytes, outcome: str, reason: str | None) -> None:
        if self._recording():
            self._safely(self._record, token, body, outcome, reason)

    def on_drop(self, reason: str, count: int) -> None:
        if reason != _PER_TOKEN_REASON and self._recording():
            self._safely(self._drop, reason, count)

    def _drop(self, reason: str, count: int) -> None:
        cache = self._cache()
        self._incr(cache, *self._drop_counter(cache, _ALL, reason, count))

    @staticmethod
    def _safely(write: Callable[..., None], *args: Any) -> None:
        try:
            write(*args)
        except Exception as exc:
            log_per_window("ledger-write", logging.WARNING, "otel-aa: recording what left for the "
                           "admin page failed (%s); delivery is unaffected", type(exc).__name__)

    def _record(self, token: Token, body: bytes, outcome: str, reason: str | None) -> None:
        cache, now, key = self._cache(), self.clock(), token_key(token)
        shown, names = self._read(body)
        hit = {"at": now, "outcome": outcome, "reason": reason, "events": len(names), "body": shown}
        last: dict[str, Any] = {self._k(key, "last_success"): now} if outcome == "sent" else \
            {self._k(key, "last_failure"): (now, reason)}
        if outcome == "sent":
            counters = self._name_counters(cache, key, names, now)
        else:
            counters = [self._drop_counter(cache, key, reason or "not delivered", len(names) or 1)]
        client = _redis_client(cache)
        if client is not None:
            self._register(cache, key, token, now, force=key not in self._registered)
            pipe = client.pipeline(transaction=False)
            encode, hits = cache.client.encode, cache.make_key(self._k(key, "hits"))
            pipe.lpush(hits, encode(hit))
            pipe.ltrim(hits, 0, KEEP_HITS - 1)
            pipe.expire(hits, _KEEP_SECONDS)
            for last_key, value in last.items():
                pipe.set(cache.make_key(last_key), encode(value), ex=_KEEP_SECONDS)
            for counter_key, count, timeout in counters:
                made = cache.make_key(counter_key)
                pipe.incrby(made, count)
                pipe.expire(made, timeout)  # renewed by each write; the reader looks at 24 hours
            pipe.execute()
            return
        seq = self._incr(cache, self._k(key, "seq"), 1, _KEEP_SECONDS)
        self._register(cache, key, token, now, force=seq == 1)
        cache.set_many({self._k(key, "hit", seq % KEEP_HITS): {**hit, "seq": seq}, **last},
                       timeout=_KEEP_SECONDS)
        for counter_key, count, timeout in counters:
            self._incr(cache, counter_key, count, timeout)

    def _read(self, body: bytes) -> tuple[str, list[str]]:
        # Tokens admitting the same events get the same body object: decoded once, not per token.
        memo = self._last_body
        if memo[0] is body:
            return memo[1], memo[2]
        text = body.decode("utf-8", "replace")
        try:
            names = [str(e.get("name")) for e in json.loads(text).get("events", ())]
        except (ValueError, AttributeError):
            names = []
        shown = text if len(text) <= MAX_BODY_CHARS else \
            f"{text[:MAX_BODY_CHARS]}… (cut: {len(text)} characters in all)"
        self._last_body = (body, shown, names)  # one tuple, replaced whole: safe across threads
        return shown, names

    def _register(self, cache: Any, key: str, token: Token, now: float, force: bool) -> None:
        # The index is read only every ten minutes per token, or when its record is new.
        if not force and now - self._registered.get(key, -1e18) < 600:
            return
        index_key = self._k("tokens")
        index = cache.get(index_key) or {}
        entry = {"name": token.name, "measurement_id": token.measurement_id,
                 "api_secret": mask_secret(token.api_secret)}
        if index.get(key) != entry and (key in index or len(index) < MAX_TOKENS):
            index[key] = entry
            cache.set(index_key, index, timeout=_KEEP_SECONDS)
        self._registered[key] = now

    def _member(self, cache: Any, list_key: str, value: str, limit: int, timeout: int) -> str:
        """``value``, added to the bounded list at ``list_key`` if new; ``(other)`` once it is full."""
        known = self._known.get(list_key)
        if known is not None and value in known:
            return value
        members = cache.get(list_key) or []
        if value not in members:
            if len(members) >= limit:
                value = _OTHER
            if value not in members:
                members.append(value)
                cache.set(list_key, members, timeout=timeout)
        if len(self._known) > 4 * MAX_TOKENS:
            self._known.clear()  # hourly keys pile up: start over (the cache has the truth)
        self._known[list_key] = set(members)
        return value

    def _name_counters(self, cache: Any, key: str, names: list[str], now: float) -> list[_Counter]:
        """(counter key, count, timeout) per event name of a body that was sent."""
        hour = int(now // 3600)
        names_key = self._k(key, "names", hour)
        counts: dict[str, int] = {}
        for name in names:
            name = self._member(cache, names_key, name, MAX_NAMES, (HOURS + 1) * 3600)
            counts[name] = counts.get(name, 0) + 1
        return [(self._k(key, "n", hour, name), count, (HOURS + 1) * 3600) for name, count in counts.items()]

    def _drop_counter(self, cache: Any, key: str, reason: str, count: int) -> tuple[str, int, int]:
        reason = self._member(cache, self._k(key, "reasons"), reason, MAX_REASONS, _KEEP_SECONDS)
        return self._k(key, "drop", _digest(reason)), count, _KEEP_SECONDS

    @staticmethod
    def _incr(cache: Any, key: str, count: int, timeout: int) -> int:
        """Add ``count`` to the counter at ``key`` (made with ``timeout`` if missing); its new value."""
        for _ in range(2):
            try:
                return int(cache.incr(key, count))
            except ValueError:  # missing (or expired just now): create it, unless another did
                if cache.add(key, count, timeout=timeout):
                    return count
        return int(cache.incr(key, count))

    # --- read by the admin page (a request thread: reads only) ---------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything recorded: ``tokens`` (key -> report) and ``drops`` before any token."""
        cache = self._cache()
        index = cache.get(self._k("tokens")) or {}
        keys = list(index)
        wanted = [self._k(k, part) for k in keys for part in ("last_success", "last_failure", "reasons")]
        client = _redis_client(cache)
        if client is None:
            wanted += [self._k(k, "hit", slot) for k in keys for slot in range(KEEP_HITS)]
        wanted.append(self._k(_ALL, "reasons"))
        values = cache.get_many(wanted)
        listed = self._listed_hits(cache, client, keys) if client is not None else None
        hour = int(self.clock() // 3600)
        hours = list(range(hour - HOURS + 1, hour + 1))
        names = cache.get_many([self._k(k, "names", h) for k in keys for h in hours])
        count_keys = [self._k(k, "n", h, n) for k in keys for h in hours
                      for n in names.get(self._k(k, "names", h)) or ()]
        drop_keys = {k: [(r, self._k(k, "drop", _digest(r))) for r in values.get(self._k(k, "reasons")) or ()]
                     for k in [*keys, _ALL]}
        numbers = cache.get_many(count_keys + [dk for pairs in drop_keys.values() for _, dk in pairs])
        tokens = {}
        for k in keys:
            per_name: dict[str, list[int]] = {}
            for i, h in enumerate(hours):
                for n in names.get(self._k(k, "names", h)) or ():
                    per_name.setdefault(n, [0] * HOURS)[i] = int(numbers.get(self._k(k, "n", h, n)) or 0)
            if listed is not None:
                hits = listed[k]  # newest first already
            else:
                hits = [values[h] for h in (self._k(k, "hit", slot) for slot in range(KEEP_HITS))
                        if h in values]
                hits.sort(key=lambda hit: -int(hit.get("seq", 0)))
            failure = values.get(self._k(k, "last_failure")) or (None, None)
            tokens[k] = {
                **index[k],
                "hits": [{**hit, "at": _iso(hit.get("at"))} for hit in hits],
                "counts": {n: {"total": sum(v), "hourly": v} for n, v in sorted(per_name.items())},
                "last_success": _iso(values.get(self._k(k, "last_success"))),
                "last_failure": _iso(failure[0]),
                "last_reason": failure[1],
                "drops": {r: int(numbers.get(dk) or 0) for r, dk in drop_keys[k]},
            }
        return {"tokens": tokens, "drops": {r: int(numbers.get(dk) or 0) for r, dk in drop_keys[_ALL]},
                "hours": [_iso(h * 3600) for h in hours]}

    def _listed_hits(self, cache: Any, client: Any, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
        pipe = client.pipeline(transaction=False)
        for k in keys:
            pipe.lrange(cache.make_key(self._k(k, "hits")), 0, KEEP_HITS - 1)
        decode = cache.client.decode
        return {k: [decode(raw) for raw in found] for k, found in zip(keys, pipe.execute(), strict=True)}


def _redis_client(cache: Any) -> Any:
    """django-redis' Redis client behind ``cache``, for pipelines; None: use the generic API."""
    try:
        from django_redis.client import DefaultClient
    except ImportError:
        return None
    client: Any = getattr(cache, "client", None)
    # Only the default client: a sharded or herd client places or wraps values its own way.
    return client.get_client(write=True) if type(client) is DefaultClient else None


#: The process's ledger, handed to both GA exporters by the configurator.
ledger = CacheLedger()
