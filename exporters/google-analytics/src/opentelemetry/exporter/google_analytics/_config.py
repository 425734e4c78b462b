"""The exporters' settings, resolved once into one frozen :class:`GAConfig`, and reloaded on demand.

An exporter resolves its configuration when it is built (argument > environment variable > host
setting > default, :mod:`.settings`) and then only reads it: nothing is resolved per export.
Settings change at one moment only: when the host's settings become available after the
exporter was built (under ``opentelemetry-instrument`` the SDK builds it before the application
has loaded its settings). The host then calls :func:`reload_settings` (the ``otel_aa`` distro
does, in ``AppConfig.ready``), and every live exporter resolves again from its original arguments.
"""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from typing_extensions import Unpack

from opentelemetry.exporter.google_analytics import environment_variables as env
from opentelemetry.exporter.google_analytics._arguments import ClientId, ExporterArgs, check_keywords
from opentelemetry.exporter.google_analytics._endpoint import endpoint_problem, parse_endpoint
from opentelemetry.exporter.google_analytics._log import log_once
from opentelemetry.exporter.google_analytics._secrets import mask_url
from opentelemetry.exporter.google_analytics._token import Token, TokenProblem
from opentelemetry.exporter.google_analytics._tokens import resolve_tokens
from opentelemetry.exporter.google_analytics.settings import (
    HostSettings,
    parse_bool,
    parse_positive_float,
    parse_str,
    resolve,
    resolve_fail_closed,
)

__all__ = ["GAConfig", "reload_settings", "resolve_config"]

_OFF = "nothing is sent to GA until it is fixed"


@dataclass(frozen=True, repr=False)
class GAConfig:
    """Every setting an exporter reads, as resolved from its arguments and the settings."""

    #: The valid tokens (the admin's ``token_source`` adds to them at each export).
    tokens: tuple[Token, ...]
    #: The tokens that were skipped, and why (secrets masked).
    token_problems: tuple[TokenProblem, ...]
    #: The collect URL; ``None`` when the setting can't be one (GA delivery is then off).
    endpoint: str | None
    timeout: float
    validate: bool
    #: The configured ``client_id`` (string or callable); ``None``: this process's random one.
    client_id: ClientId | None
    #: :envvar:`OTEL_EXPORTER_GA_DISABLED` (fails closed: unreadable is ``True``).
    disabled: bool
    #: Seconds between daily-stats sends (metric exporter).
    stats_interval: float
    #: Seconds between the metric reader's checks (:envvar:`OTEL_EXPORTER_GA_TASK_INTERVAL`).
    task_interval: float
    #: Why :attr:`endpoint` is ``None`` (``"unreadable"``, or what is wrong with the URL); else ``None``.
    endpoint_problem: str | None = None

    @classmethod
    def resolve(cls, **kwargs: Unpack[ExporterArgs]) -> GAConfig:
        """The configuration an exporter built with these keyword arguments would have (for a
        host's start-up line or a command that shows the settings, without building an exporter)."""
        check_keywords(kwargs, ExporterArgs, "GAConfig.resolve")
        return resolve_config(kwargs)

    @property
    def endpoint_usable(self) -> bool:
        return self.endpoint is not None

    def __repr__(self) -> str:
        # The endpoint may carry a relay's credentials, the client_id source is the host's.
        return (f"GAConfig(tokens={self.tokens!r}, problems={len(self.token_problems)}, "
                f"endpoint={mask_url(self.endpoint) if self.endpoint else None!r}, "
                f"timeout={self.timeout}, validate={self.validate}, disabled={self.disabled}, "
                f"stats_interval={self.stats_interval}, task_interval={self.task_interval})")


def resolve_config(args: ExporterArgs, stats_interval: float | None = None) -> GAConfig:
    """Resolve every setting from ``args`` (the exporter's keyword arguments); never raises for a
    bad value: each is reported once and takes its documented (fail-closed) side."""
    host = args.get("settings")
    report = resolve_tokens(args)
    endpoint, problem = _endpoint(args.get("endpoint"), host)
    return GAConfig(
        tokens=tuple(report.tokens),
        token_problems=tuple(report.problems),
        endpoint=endpoint,
        endpoint_problem=problem,
        timeout=float(resolve(env.OTEL_EXPORTER_GA_TIMEOUT, args.get("timeout"), env.DEFAULT_TIMEOUT,
                              parse_positive_float, settings=host)),
        validate=bool(resolve(env.OTEL_EXPORTER_GA_VALIDATE, args.get("validate"), False, parse_bool,
                              settings=host)),
        client_id=resolve(env.OTEL_EXPORTER_GA_CLIENT_ID, args.get("client_id"), None, parse_str,
                          settings=host),
        # Fails closed: an unreadable value ("y", "2", a list) means disabled.
        disabled=bool(resolve_fail_closed(env.OTEL_EXPORTER_GA_DISABLED, None, env.DEFAULT_DISABLED,
                                          parse_bool, True, _OFF, settings=host)),
        stats_interval=float(resolve(env.OTEL_EXPORTER_GA_STATS_INTERVAL, stats_interval,
                                     env.DEFAULT_STATS_INTERVAL, parse_positive_float, settings=host)),
        task_interval=float(resolve(env.OTEL_EXPORTER_GA_TASK_INTERVAL, None, env.DEFAULT_TASK_INTERVAL,
                                    parse_positive_float, settings=host)),
    )


def _endpoint(argument: str | None, host: HostSettings | None) -> tuple[str | None, str | None]:
    # An unreadable setting (a tuple from a trailing comma, bytes, "", not a URL) is reported by
    # resolve_fail_closed and gives None: GA delivery off, never the default.
    endpoint = resolve_fail_closed(env.OTEL_EXPORTER_GA_ENDPOINT, argument, env.DEFAULT_ENDPOINT,
                                   parse_endpoint, None, _OFF, settings=host)
    if endpoint is None:
        return None, "unreadable"
    problem = endpoint_problem(endpoint)
    if problem is not None:  # a constructor argument: not parsed by resolve
        # No fallback to Google's default endpoint: the admin chose another one on purpose (EU
        # collection, a proxy), so data must not go elsewhere. The value is not quoted (a URL may
        # hold credentials).
        log_once(f"setting:{env.OTEL_EXPORTER_GA_ENDPOINT}:{problem}", logging.ERROR,
                 "Google Analytics exporter: the setting %s is invalid (%s); " + _OFF,
                 env.OTEL_EXPORTER_GA_ENDPOINT, problem)
        return None, problem
    return str(endpoint), None


class _Reloadable(Protocol):
    def reload(self) -> None: ...


_live: weakref.WeakSet[_Reloadable] = weakref.WeakSet()


def register(pipeline: _Reloadable) -> None:
    """Have :func:`reload_settings` reach ``pipeline`` for as long as it lives."""
    _live.add(pipeline)


def reload_settings() -> None:
    """Resolve the settings of every live exporter again, from the arguments it was built with.

    Call it when the host's settings have become available or changed (in a Django app:
    ``AppConfig.ready``). Never raises: an exporter that can't reload keeps its configuration (logged once).
    """
    for pipeline in list(_live):
        try:
            pipeline.reload()
        except Exception as exc:
            log_once(f"reload:{type(exc).__name__}", logging.ERROR,
                     "Google Analytics exporter: reloading the settings failed (%s); the "
                     "exporter keeps the settings it had", type(exc).__name__)
