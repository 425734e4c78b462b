"""GA4 destinations ("tokens"): a measurement id, its API secret, and what it may receive.

:func:`load_tokens` builds them from constructor arguments or the settings of
:mod:`.environment_variables`. It never raises: a malformed token is reported once per process
(naming the setting and the token, secret masked) and skipped, and the other tokens still run.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics._log import log_once
from opentelemetry.exporter.google_analytics.events import GAEvent
from opentelemetry.exporter.google_analytics.settings import (
    parse_bool,
    parse_path_list,
    parse_str,
    resolve,
    resolve_fail_closed,
)

__all__ = ["Token", "TokenProblem", "TokensReport", "load_tokens", "load_tokens_report", "mask_secret"]

# GA4 web stream measurement ids look like ``G-XXXXXXXXXX``.
_MEASUREMENT_ID = re.compile(r"^G-[A-Z0-9]{4,20}$", re.IGNORECASE)
# A measurement id is public: one with a typo (``G-`` then a wrong length or character) or another
# product's short id is shown as it is. Short enough that no Measurement Protocol API secret
# (22 characters) has the second shape; the first would need a secret starting ``G-``.
_ID_SHAPED = re.compile(r"^(?:G-[A-Z0-9_.-]{1,30}|[A-Z]{1,3}-[A-Z0-9]{1,12})$", re.IGNORECASE)
_KNOWN_KEYS = frozenset(
    {"name", "measurement_id", "api_secret", "page_views", "celery_events", "daily_stats",
     "ignore_paths", "aggregate_celery_events"}
)
_FLAGS = ("page_views", "celery_events", "daily_stats")
_AGGREGATE = "aggregate_celery_events"


def mask_secret(secret: object) -> str:
    """Show a secret as its first two characters and its length, e.g. ``ab…(12 chars)``.

    Short secrets (under 8 characters) and non-strings show as ``***``.
    """
    if not isinstance(secret, str) or len(secret) < 8:
        return "***"
    return f"{secret[:2]}…({len(secret)} chars)"


@dataclass(frozen=True)
class Token:
    """One GA4 destination and the streams it admits."""

    name: str
    measurement_id: str
    api_secret: str = field(repr=False)
    page_views: bool = True
    celery_events: bool = True
    daily_stats: bool = True
    ignore_paths: tuple[re.Pattern[str], ...] = ()
    #: Task events as counts per (task, result) and interval instead of one per run.
    aggregate_celery_events: bool = False

    def __repr__(self) -> str:
        return (
            f"Token(name={self.name!r}, measurement_id={self.measurement_id!r}, "
            f"api_secret={mask_secret(self.api_secret)!r}, page_views={self.page_views}, "
            f"celery_events={self.celery_events}, daily_stats={self.daily_stats}, "
            f"ignore_paths={tuple(p.pattern for p in self.ignore_paths)!r}"
            f"{', aggregate_celery_events=True' if self.aggregate_celery_events else ''})"
        )

    def admits(self, event: GAEvent) -> bool:
        """Whether ``event`` goes to this token: its stream flag is on, it is of the form of task
        events the token takes (per run or counts), and no ignore rule matches."""
        if not getattr(self, event.stream):
            return False
        if event.aggregate is not None and event.aggregate is not self.aggregate_celery_events:
            return False
        route = event.route
        return route is None or not any(p.search(route) for p in self.ignore_paths)


class _TokenError(Exception):
    """A token is malformed; the text is safe to log (no secret in it)."""


@dataclass(frozen=True)
class TokenProblem:
    """A token that was skipped: the setting, the token's label (name, id or ``#n``), why.

    No field holds a secret: ``text`` masks it as the log message does.
    """

    setting: str
    token: str
    text: str

    def __str__(self) -> str:
        return f"{self.setting}: token {self.token} {self.text}"


@dataclass(frozen=True)
class TokensReport:
    """What :func:`load_tokens_report` found: the usable tokens and the skipped ones."""

    tokens: list[Token]
    problems: list[TokenProblem]


def _report(setting: str, token_name: str, problem: str, sink: list[TokenProblem] | None = None) -> None:
    if sink is not None:
        sink.append(TokenProblem(setting, token_name, problem))
    log_once(
        f"token:{setting}:{token_name}:{problem}",
        logging.ERROR,
        "Google Analytics exporter: %s: token %s %s; this token is skipped, the others still run",
        setting,
        token_name,
        problem,
    )


def _compile(patterns: Sequence[str], where: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise _TokenError(f"has an invalid ignore_paths regex {pattern!r} in {where} ({exc.msg})") \
                from None
    return tuple(compiled)


def _build(
    raw: Mapping[str, Any] | Token,
    label: str,
    defaults: Mapping[str, bool],
    shared_paths: tuple[re.Pattern[str], ...],
) -> Token:
    if isinstance(raw, Token):
        if not shared_paths:
            return raw
        return replace(raw, ignore_paths=raw.ignore_paths + shared_paths)
    if not isinstance(raw, Mapping):
        raise _TokenError("is not an object")
    measurement_id = raw.get("measurement_id")
    secret = raw.get("api_secret")
    if not isinstance(measurement_id, str) or not measurement_id.strip():
        raise _TokenError("has no measurement_id")
    measurement_id = measurement_id.strip()
    if measurement_id.upper().startswith("UA-"):
        raise _TokenError(
            f"has a Universal Analytics id ({measurement_id}); Universal Analytics stopped processing "
            "data in July 2023: create a GA4 property and use its G-... measurement id"
        )
    if not _MEASUREMENT_ID.match(measurement_id):
        if isinstance(secret, str) and _MEASUREMENT_ID.match(secret.strip()):
            raise _TokenError(
                "has its measurement_id and api_secret swapped (the api_secret is a G-... "
                f"measurement id; the measurement_id is {mask_secret(measurement_id)})"
            )
        # Quoted when id-shaped (a typo, another product's id); anything else is masked: what
        # sits in the wrong field may well be a secret.
        shown = repr(measurement_id) if _ID_SHAPED.match(measurement_id) else mask_secret(measurement_id)
        raise _TokenError(f"has measurement_id {shown}, which is not a GA4 measurement id (G-...)")
    if not isinstance(secret, str) or not secret.strip():
        raise _TokenError(f"has no api_secret (got {mask_secret(secret)})")
    flags = dict(defaults)
    for flag in (*_FLAGS, _AGGREGATE):
        if flag in raw and raw[flag] is not None:
            try:
                flags[flag] = parse_bool(raw[flag])
            except ValueError:
                # Fails closed: the token keeps its other streams, this one is off; task events
                # become counts (that sends less than one event per run).
                flags[flag] = flag == _AGGREGATE
                log_once(f"token-flag:{label}:{flag}", logging.ERROR,
                         "Google Analytics exporter: %s: token %s has a %s flag that is not true or "
                         "false; %s for this token until it is fixed",
                         env.OTEL_EXPORTER_GA_TOKENS, label, flag,
                         "task events are sent as counts" if flag == _AGGREGATE else
                         "that stream is off")
    paths = raw.get("ignore_paths") or ()
    if isinstance(paths, str) or not isinstance(paths, Sequence) or \
            not all(isinstance(p, str) for p in paths):
        raise _TokenError("has ignore_paths that is not a list of regular expressions")
    unknown = sorted(str(key) for key in raw if key not in _KNOWN_KEYS)
    if unknown:
        log_once(
            f"token-keys:{label}:{unknown}",
            logging.WARNING,
            "Google Analytics exporter: token %s has unknown keys %s (ignored); known keys: %s",
            label,
            ", ".join(unknown),
            ", ".join(sorted(_KNOWN_KEYS)),
        )
    name = raw.get("name")
    return Token(
        name=name.strip() if isinstance(name, str) and name.strip() else measurement_id,
        measurement_id=measurement_id,
        api_secret=secret.strip(),
        page_views=flags["page_views"],
        celery_events=flags["celery_events"],
        daily_stats=flags["daily_stats"],
        ignore_paths=_compile(paths, "the token") + shared_paths,
        aggregate_celery_events=flags[_AGGREGATE],
    )


def _label(raw: Any, index: int) -> str:
    if isinstance(raw, Token):
        return repr(raw.name)
    if isinstance(raw, Mapping):
        name = raw.get("name")
        if isinstance(name, str) and name.strip():
            return repr(name.strip())
        mid = raw.get("measurement_id")
        # Only an id-shaped value names a token in messages: anything else may be a secret.
        if isinstance(mid, str) and _ID_SHAPED.match(mid.strip()):
            return repr(mid.strip())
    return f"#{index + 1}"


def _parse_token_list(value: Any) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            # Only the position: the document itself may hold secrets.
            raise _TokenError(
                f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise _TokenError("is not a JSON list of token objects")
    return list(value)


def load_tokens(
    tokens: Sequence[Token | Mapping[str, Any]] | str | None = None,
    measurement_id: str | None = None,
    api_secret: str | None = None,
    page_views: bool | None = None,
    celery_events: bool | None = None,
    daily_stats: bool | None = None,
    ignore_paths: Sequence[str] | str | None = None,
    aggregate_celery_events: bool | None = None,
) -> list[Token]:
    """Return the valid tokens from the arguments, else from the settings. Never raises.

    ``tokens`` (argument, else ``OTEL_EXPORTER_GA_TOKENS``) and the short form
    (``measurement_id`` + ``api_secret``) add up. Flags default to ``OTEL_EXPORTER_GA_PAGE_VIEWS``
    and friends; ``ignore_paths`` (else ``OTEL_EXPORTER_GA_IGNORE_PATHS``) applies to every token.
    """
    return load_tokens_report(tokens, measurement_id, api_secret, page_views, celery_events,
                              daily_stats, ignore_paths, aggregate_celery_events).tokens


def load_tokens_report(
    tokens: Sequence[Token | Mapping[str, Any]] | str | None = None,
    measurement_id: str | None = None,
    api_secret: str | None = None,
    page_views: bool | None = None,
    celery_events: bool | None = None,
    daily_stats: bool | None = None,
    ignore_paths: Sequence[str] | str | None = None,
    aggregate_celery_events: bool | None = None,
) -> TokensReport:
    """:func:`load_tokens`, with every skipped token as data (for commands and checks to show).

    Each problem is also logged, once per process, as :func:`load_tokens` does.
    """
    problems: list[TokenProblem] = []
    # Fail closed: an unreadable default flag turns its stream off, never on.
    off = "that stream is off until it is fixed"
    defaults = {
        "page_views": bool(resolve_fail_closed(env.OTEL_EXPORTER_GA_PAGE_VIEWS, page_views,
                                               env.DEFAULT_PAGE_VIEWS, parse_bool, False, off)),
        "celery_events": bool(resolve_fail_closed(env.OTEL_EXPORTER_GA_CELERY_EVENTS, celery_events,
                                                  env.DEFAULT_CELERY_EVENTS, parse_bool, False, off)),
        "daily_stats": bool(resolve_fail_closed(env.OTEL_EXPORTER_GA_DAILY_STATS, daily_stats,
                                                env.DEFAULT_DAILY_STATS, parse_bool, False, off)),
        _AGGREGATE: bool(resolve_fail_closed(
            env.OTEL_EXPORTER_GA_AGGREGATE_CELERY_EVENTS, aggregate_celery_events,
            env.DEFAULT_AGGREGATE_CELERY_EVENTS, parse_bool, True,
            "task events are sent as counts until it is fixed")),
    }
    paths_setting = env.OTEL_EXPORTER_GA_IGNORE_PATHS
    try:
        shared_raw = resolve(paths_setting, parse_path_list(ignore_paths) if ignore_paths is not None
                             else None, env.DEFAULT_IGNORE_PATHS, parse_path_list)
        shared = _compile(shared_raw, paths_setting)
    except ValueError:
        _report(paths_setting, "(all)", "is not a list of regular expressions", problems)
        return TokensReport([], problems)
    except _TokenError as exc:
        # A bad shared rule would let pages through that the admin meant to exclude: no page
        # views at all is the safe side, so every token is skipped.
        _report(paths_setting, "(all)", str(exc), problems)
        return TokensReport([], problems)

    result: list[Token] = []
    setting = env.OTEL_EXPORTER_GA_TOKENS
    try:
        raw_tokens = resolve(setting, tokens, None)
        listed = _parse_token_list(raw_tokens) if raw_tokens is not None else []
    except _TokenError as exc:
        _report(setting, "list", str(exc), problems)
        listed = []
    for index, raw in enumerate(listed):
        label = _label(raw, index)
        try:
            result.append(_build(raw, label, defaults, shared))
        except _TokenError as exc:
            _report(setting, label, str(exc), problems)

    short_id = resolve(env.OTEL_EXPORTER_GA_MEASUREMENT_ID, measurement_id, None, parse_str)
    short_secret = resolve(env.OTEL_EXPORTER_GA_API_SECRET, api_secret, None, parse_str)
    if short_id is not None or short_secret is not None:
        short_setting = f"{env.OTEL_EXPORTER_GA_MEASUREMENT_ID}/{env.OTEL_EXPORTER_GA_API_SECRET}"
        raw_short = {"measurement_id": short_id, "api_secret": short_secret}
        label = repr(short_id) if short_id and _ID_SHAPED.match(short_id) else "(short form)"
        try:
            token = _build(raw_short, label, defaults, shared)
        except _TokenError as exc:
            _report(short_setting, label, str(exc), problems)
        else:
            if not any(t.measurement_id == token.measurement_id and t.api_secret == token.api_secret
                       for t in result):
                result.append(token)
    return TokensReport(result, problems)
