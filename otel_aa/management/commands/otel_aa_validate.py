"""``manage.py otel_aa_validate``: ask GA's validation server about each configured token's hits.

For every token (``OTEL_EXPORTER_GA_TOKENS`` or the short form, and those kept in the admin:
Alliance Auth's GA4 ``AnalyticsTokens`` with otel-aa's switches, or otel-aa's own), three
sample hits are built the way the exporters build them (a page view and a task event from
sample spans through the exporter's mapping, the daily stats from this install's own counts)
and posted to the validation server, ``/debug/mp/collect``
next to :envvar:`OTEL_EXPORTER_GA_ENDPOINT`. Its ``validationMessages`` are printed per token, the
secret masked. Nothing sent there is recorded by GA. ``--payload`` validates a body of your own.

A token the settings hold but the exporter skips (malformed: named, with the reason, secret
masked) is listed first. The exit code is non-zero when a token was skipped, GA returned a
message or could not be asked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser
from opentelemetry.exporter.google_analytics import (
    GAConfig,
    GAEvent,
    GoogleAnalyticsSpanExporter,
    Token,
    TokenProblem,
    debug_endpoint,
    load_tokens_report,
    mask_secret,
    mask_url,
    sanitize_event,
)
from opentelemetry.exporter.google_analytics import attributes as attr
from opentelemetry.exporter.google_analytics import environment_variables as ga_env

from otel_aa import names
from otel_aa._ga_mapping import AAMapping
from otel_aa._host_settings import django_setting

#: The sample kinds, in the order they are sent, with the token flag that admits each.
SAMPLES = {"page_view": "page_views", "celery_event": "celery_events", "daily_stats": "daily_stats"}


def _sample_span(name: str, kind: Any, attributes: dict[str, Any]) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import SpanContext, TraceFlags

    end = time.time_ns()
    context = SpanContext(trace_id=1, span_id=1, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return ReadableSpan(
        name=name,
        context=context,
        resource=Resource({}),
        attributes=attributes,
        kind=kind,
        start_time=end - 25_000_000,
        end_time=end,
    )


def sample_events() -> dict[str, list[GAEvent]]:
    """The sample events of each kind, as the exporters would send them from this install."""
    from opentelemetry.trace import SpanKind

    page = _sample_span(
        "GET character/<int:character_id>/",
        SpanKind.SERVER,
        {
            attr.HTTP_REQUEST_METHOD: "GET",
            attr.HTTP_RESPONSE_STATUS_CODE: 200,
            attr.HTTP_ROUTE: "character/<int:character_id>/",
            attr.GA_PAGE_ROUTE: "/character/<int:character_id>/",
            attr.GA_PAGE_CONTENT_TYPE: "text/html",
            attr.GA_PAGE_TITLE: "Character sheet",
            attr.GA_PAGE_LANGUAGE: "en-us",
        },
    )
    task = _sample_span(
        "run/otel_aa.tasks.validate_sample",
        SpanKind.CONSUMER,
        {
            names.CELERY_ACTION: "run",
            names.CELERY_STATE: "SUCCESS",
            names.CELERY_TASK_NAME: "otel_aa.tasks.validate_sample",
            names.GA_TASK_RESULT: "Success",
            names.GA_TASK_VALUE: 1,
        },
    )
    mapping = AAMapping()
    samples: dict[str, list[GAEvent]] = {
        "page_view": [e for e in (mapping.span_to_event(page),) if e is not None],
        "celery_event": [e for e in (mapping.span_to_event(task),) if e is not None],
        "daily_stats": _stats_events(),
    }
    return {
        kind: [e for e in map(sanitize_event, events) if e is not None] for kind, events in samples.items()
    }


def _stats_events() -> list[GAEvent]:
    """This install's daily stats, read through the same gauges the metric exporter reads."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from otel_aa._stats import register_gauges

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        register_gauges(provider)
        data = reader.get_metrics_data()
        events = AAMapping().metrics_to_events(data) if data is not None else []
        return [e for e in events if e.aggregate is not True]  # the stats, not task counts
    finally:
        provider.shutdown()


def payloads(events: Sequence[GAEvent]) -> list[dict[str, Any]]:
    """The bodies the exporters would post for ``events``: their own pipeline renders them."""
    from otel_aa import _identity as identity
    from otel_aa._configurator import user_properties

    exporter = GoogleAnalyticsSpanExporter(tokens=[], client_id=identity.client_id,
                                           user_properties=user_properties, settings=django_setting)
    pipeline = exporter._pipeline
    try:
        if pipeline is None or pipeline.client_id() is None:
            # The exporters send nothing without it either (otel_aa._identity): no sample to validate.
            raise CommandError("The install has no identifier yet (or it can't be read): run "
                               "`manage.py migrate`, which settles it; nothing is sent to GA until then.")
        return [json.loads(body) for body in pipeline.bodies_for(events)]
    finally:
        exporter.shutdown()


def configured_tokens() -> list[Token]:
    """The configured tokens, then the admin's tokens that aren't among them."""
    return _configured()[0]


def admin_tokens() -> list[Token]:
    """The tokens kept in the admin, as the exporters read them (AA's, with otel-aa's switches,
    or otel-aa's own)."""
    from otel_aa._admin_tokens import read_tokens

    return list(read_tokens())


def _configured() -> tuple[list[Token], list[TokenProblem]]:
    report = load_tokens_report(settings=django_setting)
    tokens = report.tokens
    known = {(t.measurement_id, t.api_secret) for t in tokens}
    extra = [t for t in admin_tokens() if (t.measurement_id, t.api_secret) not in known]
    return tokens + extra, report.problems


class Command(BaseCommand):
    help = (
        "Send sample hits (a page view, a task event, the daily stats) for each configured GA token to "
        "GA's validation server and print its validationMessages. Exits non-zero on any message."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--payload",
            metavar="FILE",
            help="validate this JSON request body (e.g. copied from a log) instead of the samples",
        )
        parser.add_argument(
            "--endpoint",
            help="collect URL whose validation server to ask (default: OTEL_EXPORTER_GA_ENDPOINT)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The admin ran this command against the site's database: otel-aa's own reads (the
        # install's identifier) may use it (otel_aa._db.host_uses).
        from otel_aa._db import _note_host_use

        _note_host_use()
        tokens, skipped = _configured()
        for problem in skipped:
            self.stdout.write(self.style.ERROR(f"Skipped: {problem}"))
        if not tokens and skipped:
            raise CommandError(f"{len(skipped)} token setting(s) skipped (see above) and no usable token.")
        if not tokens:
            raise CommandError(
                "No Google Analytics token is configured: set OTEL_EXPORTER_GA_TOKENS, or "
                "OTEL_EXPORTER_GA_MEASUREMENT_ID and OTEL_EXPORTER_GA_API_SECRET."
            )
        # Resolved as the exporters resolve it: an unreadable endpoint is never replaced by Google's.
        config = GAConfig.resolve(settings=django_setting, endpoint=options.get("endpoint"))
        endpoint, timeout = config.endpoint, config.timeout
        if endpoint is None:
            raise CommandError(f"{ga_env.OTEL_EXPORTER_GA_ENDPOINT} (or --endpoint) is not a valid "
                               "http(s) URL.")
        url = debug_endpoint(endpoint)
        bodies = self._bodies(options.get("payload"))
        self.stdout.write(f"Validation server: {mask_url(url)}")
        problems = 0
        with requests.Session() as session:
            for token in tokens:
                problems += self._validate_token(session, url, float(timeout), token, bodies)
        if problems or skipped:
            found = [f"{len(skipped)} token(s) skipped"] if skipped else []
            found += [f"{problems} problem(s) found"] if problems else []
            raise CommandError(f"{'; '.join(found)}; see above.")
        self.stdout.write(self.style.SUCCESS("All hits valid."))

    def _bodies(self, path: str | None) -> list[tuple[str, dict[str, Any]]]:
        if path:
            try:
                body = json.loads(Path(path).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise CommandError(f"Can't read a JSON body from {path} ({type(exc).__name__}).") from None
            return [("payload", body)]
        samples = sample_events()
        return [(kind, body) for kind in SAMPLES if samples[kind] for body in payloads(samples[kind])]

    def _validate_token(
        self,
        session: requests.Session,
        url: str,
        timeout: float,
        token: Token,
        bodies: Sequence[tuple[str, dict[str, Any]]],
    ) -> int:
        self.stdout.write("")
        self.stdout.write(
            f"Token {token.name!r} ({token.measurement_id}, api_secret {mask_secret(token.api_secret)})"
        )
        problems = 0
        for kind, body in bodies:
            flag_off = kind in SAMPLES and not getattr(token, SAMPLES[kind])
            note = " (this token's flag is off: not sent in practice)" if flag_off else ""
            messages = self._ask(session, url, timeout, token, body)
            if messages is None:
                problems += 1
                continue
            events = len(body.get("events") or []) if isinstance(body, dict) else 0
            if not messages:
                self.stdout.write(f"  {kind:13} {events} event(s): valid{note}")
                continue
            problems += len(messages)
            self.stdout.write(
                self.style.ERROR(f"  {kind:13} {events} event(s): {len(messages)} message(s){note}")
            )
            for message in messages:
                self.stdout.write(
                    f"    - fieldPath {message.get('fieldPath', '')!r}: {message.get('description', '')} "
                    f"[{message.get('validationCode', '')}]"
                )
        return problems

    def _ask(
        self, session: requests.Session, url: str, timeout: float, token: Token, body: Any
    ) -> list[dict[str, Any]] | None:
        try:
            response = session.post(
                url,
                params={"measurement_id": token.measurement_id, "api_secret": token.api_secret},
                data=json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode(),
                headers={"Content-Type": "application/json"},
                timeout=timeout,
            )
        except requests.RequestException as exc:
            # Only the type: the exception's text holds the URL, api_secret included.
            self.stdout.write(
                self.style.ERROR(f"  could not reach the validation server ({type(exc).__name__})")
            )
            return None
        if response.status_code != 200:
            self.stdout.write(
                self.style.ERROR(f"  the validation server answered HTTP {response.status_code}")
            )
            return None
        try:
            answer = response.json()
            messages = answer["validationMessages"]
            if not isinstance(messages, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            self.stdout.write(
                self.style.ERROR("  the validation server's answer is not in its documented format")
            )
            return None
        return [m if isinstance(m, dict) else {"description": str(m)} for m in messages]
