"""What the admin pages show: the tokens in force and where they come from, and what left.

Everything here runs on a request thread, staff only: it reads settings, one query for the
admin's tokens and the cache (:mod:`otel_aa._ledger`); it never writes and never calls GA.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.exporter.google_analytics import Token, load_tokens
from opentelemetry.exporter.google_analytics import environment_variables as ga_env

from otel_aa import _admin_tokens as admin_tokens
from otel_aa import _compat as compat
from otel_aa import privacy
from otel_aa._guard import report
from otel_aa._host_settings import django_setting

__all__ = ["aa_token_notes", "page_context", "settings_context"]

_TEAM_NOTE = (
    "This is the Alliance Auth team's pre-loaded token. Alliance Auth 5 sends it only the daily "
    "statistics (when \"Daily stats\" is ticked). Page views and Celery events are data it does "
    "not receive today: otel-aa sends them to this token only if you tick those boxes below.")
_NEW_FLOW_NOTE = (
    "Page views and Celery events are off for this token until you tick them below; daily stats "
    "follow Alliance Auth's own \"Daily stats\" box.")


def _where(name: str) -> str:
    return "environment variable" if os.environ.get(name, "").strip() else "Django setting"


def settings_tokens() -> list[dict[str, Any]]:
    """The tokens from settings, as shown read-only: flags, origin, secret masked."""
    short_id = (os.environ.get(ga_env.OTEL_EXPORTER_GA_MEASUREMENT_ID) or "").strip()
    if not short_id:
        from django.conf import settings

        short_id = str(getattr(settings, ga_env.OTEL_EXPORTER_GA_MEASUREMENT_ID, "") or "").strip()
    shown = []
    for token in load_tokens(settings=django_setting):
        if short_id and token.measurement_id == short_id and token.name == short_id:
            setting = f"{ga_env.OTEL_EXPORTER_GA_MEASUREMENT_ID} / {ga_env.OTEL_EXPORTER_GA_API_SECRET}"
            origin = f"{setting} ({_where(ga_env.OTEL_EXPORTER_GA_MEASUREMENT_ID)})"
        else:
            origin = f"{ga_env.OTEL_EXPORTER_GA_TOKENS} ({_where(ga_env.OTEL_EXPORTER_GA_TOKENS)})"
        shown.append({**admin_tokens.describe(token), "origin": origin})
    return shown


def _token_problems() -> list[str]:
    try:
        from opentelemetry.exporter.google_analytics import load_tokens_report
    except ImportError:
        return []
    return [str(p) for p in load_tokens_report(settings=django_setting).problems]


def settings_context() -> dict[str, Any]:
    """``ANALYTICS_DISABLED``, the settings tokens and the skipped ones, for every otel-aa page."""
    try:
        return {"otel_disabled": compat.analytics_disabled(),
                "otel_settings_tokens": settings_tokens(), "otel_token_problems": _token_problems()}
    except Exception as exc:  # a broken setting must not take the admin page down
        report("reading the GA settings for the admin", exc)
        return {"otel_disabled": compat.analytics_disabled(), "otel_settings_tokens": [],
                "otel_token_problems": ["the GA settings could not be read; see the log"]}


def aa_token_notes(row: Any) -> dict[str, Any]:
    """Plain words for the change page of AA's token ``row`` (None: a new token)."""
    notes = []
    if row is not None and (row.token or "").strip() == admin_tokens.AA_TEAM_MEASUREMENT_ID:
        notes.append(_TEAM_NOTE)
    elif row is not None:
        notes.append(_NEW_FLOW_NOTE)
    if row is not None and any(t["measurement_id"] == (row.token or "").strip()
                               for t in settings_tokens()):
        notes.append("This measurement id is also configured in the settings (listed below). It "
                     "receives each hit once: a stream goes out only where both places have it on.")
    return {"otel_token_notes": notes}


def _in_force() -> list[Token]:
    """The tokens the exporters send to now: settings tokens, then the admin's (merged once)."""
    from opentelemetry.exporter.google_analytics import merge_tokens

    try:
        # On this request thread the host's own connection serves (otel_aa._db.reading is for
        # otel-aa's threads: it would close the request's connection).
        extra = admin_tokens.aa_tokens() + admin_tokens.own_tokens()
    except Exception as exc:
        report("reading the admin's analytics tokens", exc)
        extra = []
    return merge_tokens(load_tokens(settings=django_setting), extra)


def _schedule() -> dict[str, Any]:
    """When the next daily-stats send is due, from the lease (``otel_aa._lease.DjangoLease``)."""
    try:
        from otel_aa._lease import DjangoLease

        schedule = getattr(DjangoLease(), "schedule", None)
        value = schedule() if schedule is not None else None
    except Exception as exc:
        report("reading the daily-stats schedule", exc)
        value = None
    if value is None:
        return {"known": False}
    fmt = "%Y-%m-%d %H:%M:%S UTC"
    return {"known": True, "due": value.due,
            "last_send": value.last_send.strftime(fmt) if value.last_send else None,
            "next_due": value.next_due.strftime(fmt) if value.next_due else None}


def page_context() -> dict[str, Any]:
    """Everything the "what left this server" page shows."""
    from otel_aa._ledger import HOURS, KEEP_HITS, ledger, token_key

    try:
        recorded = ledger.snapshot()
        cache_problem = None
    except Exception as exc:
        report("reading what left from the cache", exc)
        recorded, cache_problem = {"tokens": {}, "drops": {}, "hours": []}, type(exc).__name__
    records = dict(recorded["tokens"])
    rows = []
    for token in _in_force():
        record = records.pop(token_key(token), None) or {}
        rows.append({**admin_tokens.describe(token), "in_force": True, **_record_fields(record)})
    for record in records.values():  # recorded, no longer configured
        rows.append({**record, "in_force": False, **_record_fields(record)})
    from django.conf import settings

    backend = (settings.CACHES.get("default") or {}).get("BACKEND", "")
    return {
        **settings_context(),
        "otel_tokens": rows,
        "otel_global_drops": recorded["drops"],
        "otel_hours": recorded["hours"],
        "otel_schedule": _schedule(),
        "otel_keep_hits": KEEP_HITS,
        "otel_hours_kept": HOURS,
        "otel_cache_problem": cache_problem,
        "otel_cache_per_process": backend.rsplit(".", 1)[-1] in {"LocMemCache", "DummyCache"},
        "otel_allowlist": {
            "span attributes": sorted(privacy.ALLOWED_SPAN_ATTRIBUTES),
            "span attribute prefixes": list(privacy.ALLOWED_SPAN_ATTRIBUTE_PREFIXES),
            "resource attributes": sorted(privacy.ALLOWED_RESOURCE_ATTRIBUTES),
            "span kinds": sorted(k.name for k in privacy.ANALYTICS_SPAN_KINDS),
        },
    }


def _record_fields(record: dict[str, Any]) -> dict[str, Any]:
    return {"hits": record.get("hits", []), "counts": record.get("counts", {}),
            "last_success": record.get("last_success"), "last_failure": record.get("last_failure"),
            "last_reason": record.get("last_reason"), "drops": record.get("drops", {})}
