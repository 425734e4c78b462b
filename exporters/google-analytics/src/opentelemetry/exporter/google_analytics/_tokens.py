"""GA4 destinations ("tokens"): loading them from the arguments and settings.

:func:`load_tokens` builds them from the keyword arguments of :class:`.arguments.TokenArgs`, else
the settings of :mod:`.environment_variables` (environment, then the host ``settings``). It never
raises: a malformed token is reported once per process (naming the setting and the token, secret
masked) and skipped, and the other tokens still run. :class:`Token` itself lives in
:mod:`._token`, the checks of one token in :mod:`._token_parse`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics._arguments import TokenArgs, check_keywords
from opentelemetry.exporter.google_analytics._log import log_once
from opentelemetry.exporter.google_analytics._token import Token, TokenProblem, TokensReport, mask_secret
from opentelemetry.exporter.google_analytics._token_parse import (
    AGGREGATE,
    ID_SHAPED,
    TokenError,
    build_token,
    compile_paths,
    parse_token_list,
    token_label,
)
from opentelemetry.exporter.google_analytics.settings import (
    parse_bool,
    parse_path_list,
    parse_str,
    resolve,
    resolve_fail_closed,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["Token", "TokenProblem", "TokensReport", "load_tokens", "load_tokens_report", "mask_secret",
           "merge_tokens", "parse_token"]

_OFF = "that stream is off until it is fixed"


def load_tokens(tokens: Sequence[Token | Mapping[str, Any]] | str | None = None, /,
                **kwargs: Unpack[TokenArgs]) -> list[Token]:
    """Return the valid tokens from the arguments, else from the settings. Never raises.

    ``tokens`` (argument, else ``OTEL_EXPORTER_GA_TOKENS``) and the short form
    (``measurement_id`` + ``api_secret``) add up. Flags default to ``OTEL_EXPORTER_GA_PAGE_VIEWS``
    and friends; ``ignore_paths`` (else ``OTEL_EXPORTER_GA_IGNORE_PATHS``) applies to every token.
    """
    return load_tokens_report(tokens, **kwargs).tokens


def load_tokens_report(tokens: Sequence[Token | Mapping[str, Any]] | str | None = None, /,
                       **kwargs: Unpack[TokenArgs]) -> TokensReport:
    """:func:`load_tokens`, with every skipped token as data (for commands and checks to show).

    Each problem is also logged, once per process, as :func:`load_tokens` does.
    """
    check_keywords(kwargs, TokenArgs, "load_tokens")
    if tokens is not None:
        kwargs["tokens"] = tokens
    return resolve_tokens(kwargs)


def parse_token(raw: Mapping[str, Any], label: str = "token") -> Token:
    """One token from its mapping (a host's own store of destinations, e.g. an admin form), checked
    as every configured token is: measurement id shape, secret, flags, ignore rules.

    Flags left out are off. Raises ``ValueError`` whose text names the problem and quotes no secret.
    """
    off = {"page_views": False, "celery_events": False, "daily_stats": False, AGGREGATE: False}
    try:
        return build_token(raw, label, off, ())
    except TokenError as exc:
        raise ValueError(str(exc)) from None


def resolve_tokens(args: TokenArgs) -> TokensReport:
    """:func:`load_tokens_report` for arguments already gathered (an exporter's, which hold these)."""
    problems: list[TokenProblem] = []
    host = args.get("settings")
    # Fail closed: an unreadable default flag turns its stream off, never on.
    defaults = {
        flag: bool(resolve_fail_closed(name, args.get(flag), default, parse_bool, False, _OFF, settings=host))
        for flag, name, default in (
            ("page_views", env.OTEL_EXPORTER_GA_PAGE_VIEWS, env.DEFAULT_PAGE_VIEWS),
            ("celery_events", env.OTEL_EXPORTER_GA_CELERY_EVENTS, env.DEFAULT_CELERY_EVENTS),
            ("daily_stats", env.OTEL_EXPORTER_GA_DAILY_STATS, env.DEFAULT_DAILY_STATS),
        )
    }
    defaults[AGGREGATE] = bool(resolve_fail_closed(
        env.OTEL_EXPORTER_GA_AGGREGATE_CELERY_EVENTS, args.get("aggregate_celery_events"),
        env.DEFAULT_AGGREGATE_CELERY_EVENTS, parse_bool, True,
        "task events are sent as counts until it is fixed", settings=host))
    paths_setting = env.OTEL_EXPORTER_GA_IGNORE_PATHS
    try:
        paths_arg = args.get("ignore_paths")
        shared_raw = resolve(paths_setting, parse_path_list(paths_arg) if paths_arg is not None else None,
                             env.DEFAULT_IGNORE_PATHS, parse_path_list, settings=host)
        shared = compile_paths(shared_raw, paths_setting)
    except ValueError:
        _report(paths_setting, "(all)", "is not a list of regular expressions", problems)
        return TokensReport([], problems)
    except TokenError as exc:
        # A bad shared rule would let pages through that the admin meant to exclude: no page
        # views at all is the safe side, so every token is skipped.
        _report(paths_setting, "(all)", str(exc), problems)
        return TokensReport([], problems)

    result: list[Token] = []
    setting = env.OTEL_EXPORTER_GA_TOKENS
    try:
        raw_tokens = resolve(setting, args.get("tokens"), None, settings=host)
        listed = parse_token_list(raw_tokens) if raw_tokens is not None else []
    except TokenError as exc:
        _report(setting, "list", str(exc), problems)
        listed = []
    for index, raw in enumerate(listed):
        label = token_label(raw, index)
        try:
            result.append(build_token(raw, label, defaults, shared))
        except TokenError as exc:
            _report(setting, label, str(exc), problems)

    short_id = resolve(env.OTEL_EXPORTER_GA_MEASUREMENT_ID, args.get("measurement_id"), None, parse_str,
                       settings=host)
    short_secret = resolve(env.OTEL_EXPORTER_GA_API_SECRET, args.get("api_secret"), None, parse_str,
                           settings=host)
    if short_id is not None or short_secret is not None:
        short_setting = f"{env.OTEL_EXPORTER_GA_MEASUREMENT_ID}/{env.OTEL_EXPORTER_GA_API_SECRET}"
        raw_short = {"measurement_id": short_id, "api_secret": short_secret}
        label = repr(short_id) if short_id and ID_SHAPED.match(short_id) else "(short form)"
        try:
            token = build_token(raw_short, label, defaults, shared)
        except TokenError as exc:
            _report(short_setting, label, str(exc), problems)
        else:
            if not any(t.measurement_id == token.measurement_id and t.api_secret == token.api_secret
                       for t in result):
                result.append(token)
    return TokensReport(result, problems)


def _report(setting: str, token_name: str, problem: str, sink: list[TokenProblem]) -> None:
    sink.append(TokenProblem(setting, token_name, problem))
    log_once(
        f"token:{setting}:{token_name}:{problem}",
        logging.ERROR,
        "Google Analytics exporter: %s: token %s %s; this token is skipped, the others still run",
        setting,
        token_name,
        problem,
    )


def merge_tokens(configured: list[Token], extra: list[Token]) -> list[Token]:
    """``configured`` plus ``extra``; a destination in both is sent to once, the side sending less.

    A destination is its (measurement id, API secret). When both lists hold it, the configured
    token keeps its name, each stream flag is on only where both have it on, and the ignore rules
    of both apply: switching a stream off in either place switches it off.
    """
    if not extra:
        return configured
    by_key = {(t.measurement_id, t.api_secret): t for t in extra}
    merged = []
    for token in configured:
        other = by_key.pop((token.measurement_id, token.api_secret), None)
        if other is not None:
            token = Token(token.name, token.measurement_id, token.api_secret,
                          token.page_views and other.page_views,
                          token.celery_events and other.celery_events,
                          token.daily_stats and other.daily_stats,
                          token.ignore_paths + tuple(p for p in other.ignore_paths
                                                     if p not in token.ignore_paths),
                          # Counts send less than an event per run: either side asking wins.
                          token.aggregate_celery_events or other.aggregate_celery_events)
        merged.append(token)
    return merged + list(by_key.values())
