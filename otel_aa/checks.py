"""Django system checks (``manage.py check``) for otel-aa's settings and set-up.

- ``otel_aa.W004``: a GA token setting is malformed (named, secret masked; that token is skipped).
- ``otel_aa.W001``: GA settings are present but no token is usable.
- ``otel_aa.I001``: ``ANALYTICS_DISABLED`` is on: nothing goes to GA.
- ``otel_aa.W002`` (``check --deploy``): this process has no GA exporter behind the allowlist.
- ``otel_aa.W003``: the OpenTelemetry middleware isn't first in ``MIDDLEWARE``.

Checks read settings only; they never touch the network.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Info, Tags, Warning, register

from otel_aa import _compat as compat
from otel_aa._host_settings import django_setting

__all__ = ["check_middleware", "check_pipeline", "check_tokens"]

_OTEL_MIDDLEWARE = "opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"
_TOKEN_SETTINGS = (
    "OTEL_EXPORTER_GA_TOKENS",
    "OTEL_EXPORTER_GA_MEASUREMENT_ID",
    "OTEL_EXPORTER_GA_API_SECRET",
)


def _configured(name: str) -> bool:
    return bool(os.environ.get(name, "").strip()) or bool(getattr(settings, name, None))


@register(Tags.compatibility)
def check_tokens(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Bad GA token settings, and ``ANALYTICS_DISABLED``."""
    messages: list[CheckMessage] = []
    if compat.analytics_disabled():
        messages.append(Info("ANALYTICS_DISABLED is set: otel-aa sends nothing to Google Analytics.",
                             id="otel_aa.I001"))
    from opentelemetry.exporter.google_analytics import load_tokens_report

    report = load_tokens_report(settings=django_setting)
    loaded, problems = report.tokens, report.problems
    for problem in problems:
        # A warning, not an error: an error would stop manage.py migrate and the site itself.
        messages.append(Warning(f"Google Analytics settings: {problem}", id="otel_aa.W004",
                                hint="That token is skipped; the others still run."))
    if any(_configured(name) for name in _TOKEN_SETTINGS) and not loaded:
        messages.append(Warning(
            "Google Analytics settings are present but no token is usable: nothing will be sent.",
            hint="See the error logged by the exporter, or run `manage.py otel_aa_validate`.",
            id="otel_aa.W001",
        ))
    return messages


@register(Tags.compatibility, deploy=True)
def check_pipeline(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Whether this process exports to GA at all."""
    from otel_aa._configurator import is_configured

    if is_configured():
        return []
    return [Warning(
        "otel-aa is installed but not started in this process: no GA exporter behind the privacy "
        "allowlist.",
        hint="Start with `opentelemetry-instrument` and OTEL_PYTHON_CONFIGURATOR=otel_aa, "
             "OTEL_PYTHON_DISTRO=otel_aa, or call otel_aa.configure() at the top of wsgi.py and "
             "celery.py.",
        id="otel_aa.W002",
    )]


@register(Tags.compatibility)
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """The OpenTelemetry middleware should be first, so every response passes through it."""
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    if _OTEL_MIDDLEWARE in middleware and middleware[0] != _OTEL_MIDDLEWARE:
        return [Warning(
            "The OpenTelemetry Django middleware is not first in MIDDLEWARE: responses answered by "
            "middleware above it are not counted.",
            hint="Let the instrumentor insert it (don't list it yourself).",
            id="otel_aa.W003",
        )]
    return []
