"""One token from its raw form (an object of the token list, or the short form), checked.

Each check raises :class:`TokenError` with a text that is safe to log: a secret, or whatever
sits where a secret may be, is masked (:func:`.mask_secret`); a public measurement id is quoted.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics._log import log_once
from opentelemetry.exporter.google_analytics._token import Token, mask_secret
from opentelemetry.exporter.google_analytics.settings import parse_bool

__all__ = ["AGGREGATE", "FLAGS", "ID_SHAPED", "TokenError", "build_token", "compile_paths",
           "parse_token_list", "token_label"]

# GA4 web stream measurement ids look like ``G-XXXXXXXXXX``.
_MEASUREMENT_ID = re.compile(r"^G-[A-Z0-9]{4,20}$", re.IGNORECASE)
# A measurement id is public: one with a typo (``G-`` then a wrong length or character) or another
# product's short id is shown as it is. Short enough that no Measurement Protocol API secret
# (22 characters) has the second shape; the first would need a secret starting ``G-``.
ID_SHAPED = re.compile(r"^(?:G-[A-Z0-9_.-]{1,30}|[A-Z]{1,3}-[A-Z0-9]{1,12})$", re.IGNORECASE)
_KNOWN_KEYS = frozenset(
    {"name", "measurement_id", "api_secret", "page_views", "celery_events", "daily_stats",
     "ignore_paths", "aggregate_celery_events"}
)
FLAGS = ("page_views", "celery_events", "daily_stats")
AGGREGATE = "aggregate_celery_events"


class TokenError(Exception):
    """A token is malformed; the text is safe to log (no secret in it)."""


def compile_paths(patterns: Sequence[str], where: str) -> tuple[re.Pattern[str], ...]:
    compiled = []
    for pattern in patterns:
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise TokenError(f"has an invalid ignore_paths regex {pattern!r} in {where} ({exc.msg})") \
                from None
    return tuple(compiled)


def build_token(
    raw: Mapping[str, Any] | Token,
    label: str,
    defaults: Mapping[str, bool],
    shared_paths: tuple[re.Pattern[str], ...],
) -> Token:
    """The token ``raw`` stands for, with the default ``flags`` and the shared ignore rules."""
    if isinstance(raw, Token):
        if not shared_paths:
            return raw
        return replace(raw, ignore_paths=raw.ignore_paths + shared_paths)
    if not isinstance(raw, Mapping):
        raise TokenError("is not an object")
    measurement_id = raw.get("measurement_id")
    secret = raw.get("api_secret")
    if not isinstance(measurement_id, str) or not measurement_id.strip():
        raise TokenError("has no measurement_id")
    measurement_id = measurement_id.strip()
    if measurement_id.upper().startswith("UA-"):
        raise TokenError(
            f"has a Universal Analytics id ({measurement_id}); Universal Analytics stopped processing "
            "data in July 2023: create a GA4 property and use its G-... measurement id"
        )
    if not _MEASUREMENT_ID.match(measurement_id):
        if isinstance(secret, str) and _MEASUREMENT_ID.match(secret.strip()):
            raise TokenError(
                "has its measurement_id and api_secret swapped (the api_secret is a G-... "
                f"measurement id; the measurement_id is {mask_secret(measurement_id)})"
            )
        # Quoted when id-shaped (a typo, another product's id); anything else is masked: what
        # sits in the wrong field may well be a secret.
        shown = repr(measurement_id) if ID_SHAPED.match(measurement_id) else mask_secret(measurement_id)
        raise TokenError(f"has measurement_id {shown}, which is not a GA4 measurement id (G-...)")
    if not isinstance(secret, str) or not secret.strip():
        raise TokenError(f"has no api_secret (got {mask_secret(secret)})")
    flags = dict(defaults)
    for flag in (*FLAGS, AGGREGATE):
        if flag in raw and raw[flag] is not None:
            try:
                flags[flag] = parse_bool(raw[flag])
            except ValueError:
                # Fails closed: the token keeps its other streams, this one is off; task events
                # become counts (that sends less than one event per run).
                flags[flag] = flag == AGGREGATE
                log_once(f"token-flag:{label}:{flag}", logging.ERROR,
                         "Google Analytics exporter: %s: token %s has a %s flag that is not true or "
                         "false; %s for this token until it is fixed",
                         env.OTEL_EXPORTER_GA_TOKENS, label, flag,
                         "task events are sent as counts" if flag == AGGREGATE else
                         "that stream is off")
    paths = raw.get("ignore_paths") or ()
    if isinstance(paths, str) or not isinstance(paths, Sequence) or \
            not all(isinstance(p, str) for p in paths):
        raise TokenError("has ignore_paths that is not a list of regular expressions")
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
        ignore_paths=compile_paths(paths, "the token") + shared_paths,
        aggregate_celery_events=flags[AGGREGATE],
    )


def token_label(raw: Any, index: int) -> str:
    """How messages name token number ``index``: its name, an id-shaped id, or ``#n``."""
    if isinstance(raw, Token):
        return repr(raw.name)
    if isinstance(raw, Mapping):
        name = raw.get("name")
        if isinstance(name, str) and name.strip():
            return repr(name.strip())
        mid = raw.get("measurement_id")
        # Only an id-shaped value names a token in messages: anything else may be a secret.
        if isinstance(mid, str) and ID_SHAPED.match(mid.strip()):
            return repr(mid.strip())
    return f"#{index + 1}"


def parse_token_list(value: Any) -> list[Any]:
    """The token list setting as a list (a JSON string, one object, or a list)."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            # Only the position: the document itself may hold secrets.
            raise TokenError(
                f"is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise TokenError("is not a JSON list of token objects")
    return list(value)


