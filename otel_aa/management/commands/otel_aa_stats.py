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

import requests
from django.core.management.base import BaseCommand, CommandError, CommandParser
from opentelemetry.exporter.google_analytics.metric_exporter import GoogleAnalyticsMetricExporter
from opentelemetry.exporter.google_analytics.tokens import Token, load_tokens, mask_secret
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricExportResult, MetricsData

from otel_aa import compat, identity, stats
from otel_aa.lease import DjangoLease, LeaseSchedule


class _Granted:
    """A ``SendLease`` that always grants: a send asked for by hand needs no lease."""

    def due(self) -> bool:
        return True

    def acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


class _CaptureAdapter(requests.adapters.BaseAdapter):
    """Answers like GA without any network, and keeps every request it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.requests.append(request)
        response = requests.Response()
        response.request = request
        response.url = request.url or ""
        if urlsplit(response.url).path.startswith("/debug/"):
            response.status_code = 200
            response._content = b'{"validationMessages": []}'
        else:
            response.status_code = 204
            response._content = b""
        return response

    def close(self) -> None:
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


def _query(request: requests.PreparedRequest) -> tuple[str | None, str | None]:
    query = dict(parse_qsl(urlsplit(request.url or "").query))
    return query.get("measurement_id"), query.get("api_secret")


def _body(request: requests.PreparedRequest) -> Any:
    raw = request.body
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return json.loads(raw or "null")


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
        adapter = _CaptureAdapter()
        session = requests.Session()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._export(tokens, data, session)
        self._print(tokens, adapter.requests)
        if not options["send"]:
            return
        if not adapter.requests:
            self.stdout.write("Nothing to send.")
            return
        if self._export(tokens, data, None) is not MetricExportResult.SUCCESS:
            raise CommandError("Sending the daily statistics failed (see the log above).")
        lease.renew()
        self.stdout.write(self.style.SUCCESS(f"Sent {len(adapter.requests)} request(s)."))

    def _tokens(self) -> list[Token]:
        # The exporter's own settings, plus the admin's tokens that take the daily stats (AA's
        # send_stats), as the metric exporter's token source gives them.
        from otel_aa.management.commands.otel_aa_validate import admin_tokens

        return load_tokens() + [t for t in admin_tokens() if t.daily_stats]

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

    def _export(self, tokens: list[Token], data: MetricsData,
                session: requests.Session | None) -> MetricExportResult:
        from otel_aa.configurator import user_properties

        exporter = GoogleAnalyticsMetricExporter(
            tokens=tokens,
            client_id=identity.client_id,
            user_properties=user_properties,
            session=session,
            lease=_Granted(),
        )
        try:
            return exporter.export(data)
        finally:
            exporter.shutdown()

    def _print(self, tokens: list[Token], sent: list[requests.PreparedRequest]) -> None:
        for token in tokens:
            title = (f"Token {token.name!r} ({token.measurement_id}, api_secret "
                     f"{mask_secret(token.api_secret)})")
            mine = [r for r in sent if _query(r) == (token.measurement_id, token.api_secret)]
            if not token.daily_stats:
                self.stdout.write(f"{title}: daily_stats is off; nothing is sent.")
                continue
            if not mine:
                self.stdout.write(f"{title}: no statistics to send.")
                continue
            self.stdout.write(f"{title}: {len(mine)} request(s)")
            for request in mine:
                self.stdout.write(f"POST {_masked_url(request.url or '', token.api_secret)}")
                self.stdout.write(json.dumps(_body(request), indent=2, sort_keys=True))
