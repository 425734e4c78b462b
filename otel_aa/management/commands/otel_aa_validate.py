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
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser
from opentelemetry.exporter.google_analytics import debug_endpoint, mask_url
from opentelemetry.exporter.google_analytics import environment_variables as ga_env
from opentelemetry.exporter.google_analytics._endpoint import endpoint_problem, parse_endpoint
from opentelemetry.exporter.google_analytics.events import GAEvent
from opentelemetry.exporter.google_analytics.limits import sanitize_event, sanitize_user_properties
from opentelemetry.exporter.google_analytics.mapping import metrics_to_events, span_to_event
from opentelemetry.exporter.google_analytics.settings import (
    parse_positive_float,
    resolve,
    resolve_fail_closed,
)
from opentelemetry.exporter.google_analytics.tokens import (
    Token,
    TokenProblem,
    load_tokens_report,
    mask_secret,
)

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
            "http.request.method": "GET",
            "http.response.status_code": 200,
            "http.route": "character/<int:character_id>/",
            "ga.page.content_type": "text/html",
            "ga.page.title": "Character sheet",
            "ga.page.language": "en-us",
        },
    )
    task = _sample_span(
        "run/otel_aa.tasks.validate_sample",
        SpanKind.CONSUMER,
        {
            "celery.action": "run",
            "celery.state": "SUCCESS",
            "celery.task_name": "otel_aa.tasks.validate_sample",
            "ga.task.result": "Success",
            "ga.task.value": 1,
        },
    )
    samples: dict[str, list[GAEvent]] = {
        "page_view": [e for e in (span_to_event(page),) if e is not None],
        "celery_event": [e for e in (span_to_event(task),) if e is not None],
        "daily_stats": _stats_events(),
    }
    return {
        kind: [e for e in map(sanitize_event, events) if e is not None] for kind, events in samples.items()
    }


def _stats_events() -> list[GAEvent]:
    """This install's daily stats, read through the same gauges the metric exporter reads."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from otel_aa.stats import register_gauges

    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        register_gauges(provider)
        data = reader.get_metrics_data()
        return metrics_to_events(data) if data is not None else []
    finally:
        provider.shutdown()


def payload(events: Iterable[GAEvent]) -> dict[str, Any]:
    """A request body as the exporters build it: the install's identity, no ads personalisation."""
    from otel_aa import identity
    from otel_aa.configurator import user_properties

    client_id = identity.client_id()
    if client_id is None:
        # The exporters send nothing without it either (otel_aa.identity): no sample to validate.
        raise CommandError("The install has no identifier yet (or it can't be read): run "
                           "`manage.py migrate`, which settles it; nothing is sent to GA until then.")
    return {
        "client_id": client_id,
        "non_personalized_ads": True,
        "consent": {"ad_user_data": "DENIED", "ad_personalization": "DENIED"},
        "user_properties": sanitize_user_properties(user_properties()),
        "events": [event.to_json() for event in events],
    }


def configured_tokens() -> list[Token]:
    """The configured tokens, then the admin's tokens that aren't among them."""
    return _configured()[0]


def admin_tokens() -> list[Token]:
    """The tokens kept in the admin, as the exporters read them (AA's, with otel-aa's switches,
    or otel-aa's own); AA's stats tokens where that reader isn't there."""
    try:
        from otel_aa.admin_tokens import read_tokens
    except ImportError:
        from otel_aa import compat

        return list(compat.aa_stats_tokens())
    return list(read_tokens())


def _configured() -> tuple[list[Token], list[TokenProblem]]:
    report = load_tokens_report()
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
        # Fails closed as the exporter does: an unreadable endpoint is never replaced by Google's.
        endpoint = resolve_fail_closed(
            ga_env.OTEL_EXPORTER_GA_ENDPOINT, options.get("endpoint"), ga_env.DEFAULT_ENDPOINT,
            parse_endpoint, None, "nothing is sent",
        )
        if endpoint is None or endpoint_problem(endpoint) is not None:
            raise CommandError(f"{ga_env.OTEL_EXPORTER_GA_ENDPOINT} (or --endpoint) is not a valid "
                               "http(s) URL.")
        timeout = resolve(ga_env.OTEL_EXPORTER_GA_TIMEOUT, None, ga_env.DEFAULT_TIMEOUT, parse_positive_float)
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
        return [(kind, payload(samples[kind])) for kind in SAMPLES if samples[kind]]

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
