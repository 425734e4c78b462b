"""``manage.py otel_aa_stats``: show the daily statistics exactly as they would go to GA.

Without options it prints, per token, the Measurement Protocol requests the GA metric exporter
would make now (API secrets masked) and sends nothing. ``--send`` sends them now, whatever the
daily-stats lease says, then renews the lease so the automatic send waits a full interval; the
exit code is non-zero when a send fails.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from django.core.management.base import BaseCommand, CommandError, CommandParser
from opentelemetry.exporter.google_analytics import (
    GoogleAnalyticsMetricExporter,
    Token,
    load_tokens,
    mask_secret,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult, MetricsData

from otel_aa import _compat as compat
from otel_aa import _identity as identity
from otel_aa import _stats as stats
from otel_aa._ga_mapping import AAMapping
from otel_aa._host_settings import django_setting
from otel_aa._lease import DjangoLease, LeaseSchedule


class _Granted:
    """A ``SendLease`` that always grants: a send asked for by hand needs no lease."""

    def due(self) -> bool:
        return True

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


def _masked_url(url: str, secret: str) -> str:
    # Left unencoded on purpose: this is for reading, and the mask's "…" reads better raw.
    # The endpoint's own credentials (user-info, a relay's ?key=) are masked too.
    parts = urlsplit(url)
    shown = {"api_secret": mask_secret(secret)}
    query = "&".join(f"{k}={v if k == 'measurement_id' else shown.get(k, '***')}"
                     for k, v in parse_qsl(parts.query))
    netloc = "***@" + parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _when(moment: _dt.datetime | None) -> str:
    return "unknown" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _schedule_text(schedule: LeaseSchedule | None) -> str:
    if schedule is None:
        return "Last and next send: unknown (the lease could not be read; see the log)."
    if schedule.due:
        return "Last send: none within the interval. Next send: due now (the next export cycle)."
    return f"Last send: {_when(schedule.last_send)}. Next send: {_when(schedule.next_due)}."


class Command(BaseCommand):
    help = (
        "Print the daily install statistics exactly as otel-aa would send them to each Google "
        "Analytics token (API secrets masked). --send sends them now."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--send",
            action="store_true",
            help="Send the statistics now, whatever the daily-stats lease says, and renew the lease.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The admin ran this command against the site's database: otel-aa's own reads (the
        # install's identifier) may use it (otel_aa._db.host_uses).
        from otel_aa._db import _note_host_use

        _note_host_use()
        lease = DjangoLease()
        self.stdout.write(
            f"Daily statistics: lease in the {lease.backend}, interval {lease.interval:g} s. "
            + _schedule_text(lease.schedule())
        )
        if compat.analytics_disabled():
            self.stdout.write("ANALYTICS_DISABLED is set: nothing is sent to Google Analytics.")
            return
        tokens = self._tokens()
        if not tokens:
            self.stdout.write("No Google Analytics token is configured: nothing would be sent.")
            return
        data = self._collect()
        exporter = self._exporter(tokens)
        try:
            rendered = self._render(exporter, data)
            self._print(tokens, rendered, exporter)
            if not options["send"]:
                return
            if not any(rendered.values()):
                self.stdout.write("Nothing to send.")
                return
            if exporter.export(data) is not MetricExportResult.SUCCESS:
                raise CommandError("Sending the daily statistics failed (see the log above).")
        finally:
            exporter.shutdown()
        lease.renew()
        sent = sum(len(bodies) for bodies in rendered.values())
        self.stdout.write(self.style.SUCCESS(f"Sent {sent} request(s)."))

    def _tokens(self) -> list[Token]:
        # The exporter's own settings, plus the admin's tokens that take the daily stats (AA's
        # send_stats), as the metric exporter's token source gives them, merged as the exporter
        # merges them: a destination in both places is sent to once.
        from opentelemetry.exporter.google_analytics import merge_tokens

        from otel_aa.management.commands.otel_aa_validate import admin_tokens

        return merge_tokens(load_tokens(settings=django_setting),
                            [t for t in admin_tokens() if t.daily_stats])

    def _collect(self) -> MetricsData:
        reader = InMemoryMetricReader()
        provider = MeterProvider(metric_readers=[reader])
        try:
            stats.register_gauges(provider)
            data = reader.get_metrics_data()
        finally:
            provider.shutdown()
        if data is None:
            raise CommandError("The daily-stats gauges produced no data.")
        return data

    def _exporter(self, tokens: list[Token]) -> GoogleAnalyticsMetricExporter:
        from otel_aa._configurator import user_properties

        exporter = GoogleAnalyticsMetricExporter(
            mapping=AAMapping(),
            tokens=tokens,
            client_id=identity.client_id,
            user_properties=user_properties,
            lease=_Granted(),
            settings=django_setting,
        )
        return exporter

    def _render(self, exporter: GoogleAnalyticsMetricExporter,
                data: MetricsData) -> dict[tuple[str, str], list[bytes]]:
        """Per destination, the request bodies the exporter would post now: the pipeline's own
        rendering (identity, consent, limits, batching), with nothing sent."""
        pipeline = exporter._pipeline
        if pipeline is None:
            raise CommandError("The Google Analytics exporter could not start (see the log above).")
        if pipeline.client_id() is None:
            self.stdout.write("The install has no identifier yet (run `manage.py migrate`): "
                              "nothing would be sent.")
            return {}
        events = [e for e in pipeline.sanitize(exporter.mapping.metrics_to_events(data))
                  if e.aggregate is not True]  # counts go on their own schedule, not with these
        rendered: dict[tuple[str, str], list[bytes]] = {}
        for token in exporter.tokens:
            mine = [e for e in events if token.admits(e)]
            rendered[(token.measurement_id, token.api_secret)] = pipeline.bodies_for(mine) if mine else []
        return rendered

    def _print(self, tokens: list[Token], rendered: dict[tuple[str, str], list[bytes]],
               exporter: GoogleAnalyticsMetricExporter) -> None:
        for token in tokens:
            title = (f"Token {token.name!r} ({token.measurement_id}, api_secret "
                     f"{mask_secret(token.api_secret)})")
            mine = rendered.get((token.measurement_id, token.api_secret)) or []
            if not token.daily_stats:
                self.stdout.write(f"{title}: daily_stats is off; nothing is sent.")
                continue
            if not mine:
                self.stdout.write(f"{title}: no statistics to send.")
                continue
            self.stdout.write(f"{title}: {len(mine)} request(s)")
            assert exporter._pipeline is not None  # it rendered these bodies
            url = exporter._pipeline.transport.url_for(token)
            for body in mine:
                self.stdout.write(f"POST {_masked_url(url, token.api_secret)}")
                self.stdout.write(json.dumps(json.loads(body), indent=2, sort_keys=True))
