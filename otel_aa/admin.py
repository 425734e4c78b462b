"""otel-aa in Django's admin: per-token switches, settings tokens shown read-only, what left.

- With Alliance Auth: AA's ``AnalyticsTokens`` admin (``/admin/analytics/analyticstokens/<id>/
  change/``) gets page views, Celery events (per run or as counts) and ignore paths beside AA's
  own ``send_stats`` (the daily stats), stored in :class:`~otel_aa.models.AATokenSwitches`.
  AA's class is extended, not replaced: if that fails, AA's admin stays as it was (logged once).
- Without AA: otel-aa's own :class:`~otel_aa.models.GAToken` admin.
- "What left this server" (:mod:`otel_aa._deliveries`), behind ``otel_aa.view_deliveries``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import escape
from opentelemetry.exporter.google_analytics import mask_secret

from otel_aa import _deliveries as deliveries
from otel_aa._admin_tokens import announce_change, parse_paths
from otel_aa._guard import log_once
from otel_aa.models import AGGREGATE_HELP, AATokenSwitches, Deliveries, GAToken

_logger = logging.getLogger(__name__)

# The admin renders help texts as HTML: the route's angle brackets must be escaped.
_PATHS_HELP = escape("Regular expressions, one per line: a page view whose route template matches "
                     "one is not sent to this token. Routes look like /character/<int:character_id>/; "
                     "the admin's pages are /<admin>/... (e.g. ^/<admin>/ skips them all).")


def _clean_paths(text: str) -> str:
    for pattern in parse_paths(text):
        try:
            re.compile(pattern)
        except re.error as exc:
            raise forms.ValidationError(f"{pattern!r} is not a regular expression ({exc.msg})") from None
    return "\n".join(parse_paths(text))


# --- otel-aa's own tokens (sites without Alliance Auth) --------------------------------------------

class GATokenForm(forms.ModelForm):
    api_secret = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="The stream's Measurement Protocol API secret. Leave blank to keep the saved one.")

    class Meta:
        model = GAToken
        fields = ["name", "measurement_id", "api_secret", "page_views", "celery_events",
                  "aggregate_celery_events", "daily_stats", "ignore_paths"]

    def clean_measurement_id(self) -> str:
        value = (self.cleaned_data.get("measurement_id") or "").strip()
        if not re.fullmatch(r"G-[A-Z0-9]{4,20}", value, re.IGNORECASE):
            raise forms.ValidationError(f"{value!r} is not a GA4 measurement id (G-...)")
        return value

    def clean_api_secret(self) -> str:
        value = (self.cleaned_data.get("api_secret") or "").strip()
        if not value:
            if self.instance.pk and self.instance.api_secret:
                return str(self.instance.api_secret)
            raise forms.ValidationError("A new token needs its API secret.")
        return value

    def clean_ignore_paths(self) -> str:
        return _clean_paths(self.cleaned_data.get("ignore_paths") or "")


class _SettingsContext:
    """Puts the settings tokens and ``ANALYTICS_DISABLED`` on the list and change pages."""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return super().changelist_view(  # type: ignore[misc]
            request, {**deliveries.settings_context(), **(extra_context or {})})

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: dict[str, Any] | None = None) -> Any:
        context = {**deliveries.settings_context(), **self.token_notes(object_id),
                   **(extra_context or {})}
        return super().changeform_view(request, object_id, form_url, context)  # type: ignore[misc]

    def token_notes(self, object_id: str | None) -> dict[str, Any]:
        return {}

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        announce_change()  # every process reads the tokens again at its next export

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        super().delete_model(request, obj)  # type: ignore[misc]
        announce_change()


class GATokenAdmin(_SettingsContext, admin.ModelAdmin):
    form = GATokenForm
    list_display = ["name", "measurement_id", "masked_secret", "page_views", "celery_events",
                    "aggregate_celery_events", "daily_stats"]
    change_form_template = "admin/otel_aa/token_change_form.html"
    change_list_template = "admin/otel_aa/token_change_list.html"

    @admin.display(description="API secret")
    def masked_secret(self, obj: GAToken) -> str:
        return mask_secret(obj.api_secret)


# --- Alliance Auth's tokens -------------------------------------------------------------------------

def _switches_form(base: type[forms.ModelForm]) -> type[forms.ModelForm]:
    class AATokenForm(base):
        otel_page_views = forms.BooleanField(
            required=False, label="Page views",
            help_text="Send page views (the route template and view name, never the real path).")
        otel_celery_events = forms.BooleanField(
            required=False, label="Celery events",
            help_text="Send one event per finished Celery task (its name and result class).")
        otel_aa_aggregate_celery_events = forms.BooleanField(
            required=False, label="Celery events as counts", help_text=AGGREGATE_HELP)
        otel_ignore_paths = forms.CharField(required=False, label="Ignore paths", help_text=_PATHS_HELP,
                                            widget=forms.Textarea(attrs={"rows": 3}))

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            switch = AATokenSwitches.objects.filter(aa_token_id=self.instance.pk).first() \
                if self.instance.pk else None
            if switch is not None:
                self.initial.update(otel_page_views=switch.page_views,
                                    otel_celery_events=switch.celery_events,
                                    otel_aa_aggregate_celery_events=switch.aggregate_celery_events,
                                    otel_ignore_paths=switch.ignore_paths)
            if "send_stats" in self.fields:
                self.fields["send_stats"].label = "Daily stats"
            secret = self.fields.get("secret")
            if secret is not None and self.instance.pk and self.instance.secret:
                # The saved secret is never sent back to the browser: blank keeps it.
                secret.widget = forms.PasswordInput(render_value=False)
                secret.help_text = f"Saved: {mask_secret(self.instance.secret)}. Leave blank to keep it."

        def clean_secret(self) -> str:
            value = (self.cleaned_data.get("secret") or "").strip()
            return value or (str(self.instance.secret or "") if self.instance.pk else "")

        def clean_otel_ignore_paths(self) -> str:
            return _clean_paths(self.cleaned_data.get("otel_ignore_paths") or "")

    return AATokenForm


_OTEL_FIELDS = ("otel_page_views", "otel_celery_events", "otel_aa_aggregate_celery_events",
                "otel_ignore_paths")


def _switches_ready() -> bool:
    """Whether otel-aa's table can be read (``migrate otel_aa`` done); AA's page works either way."""
    try:  # the newest column in the query: a table not yet migrated to it counts as missing
        AATokenSwitches.objects.filter(aggregate_celery_events=True).exists()
    except DatabaseError:
        log_once("admin:switches-table", logging.ERROR,
                 "otel-aa: its tables are missing or not migrated: run `manage.py migrate otel_aa` "
                 "to get the page view and Celery event switches on Alliance Auth's token pages",
                 logger=_logger)
        return False
    return True


def _switch_column(flag: str, description: str) -> Any:
    """A column of AA's token list: whether the token's ``flag`` switch is on (unknown, None,
    while otel-aa's table can't be read)."""
    @admin.display(description=description, boolean=True)
    def column(self: Any, obj: Any) -> bool | None:
        try:
            return AATokenSwitches.objects.filter(aa_token_id=obj.pk, **{flag: True}).exists()
        except DatabaseError:
            return None
    return column


def _extend_aa_admin() -> bool:
    from allianceauth.analytics import admin as aa_admin  # noqa: F401  (registers AA's classes)
    from allianceauth.analytics.models import AnalyticsTokens

    base = type(admin.site._registry[AnalyticsTokens])

    class AnalyticsTokensAdmin(_SettingsContext, base):  # type: ignore[valid-type, misc]
        change_form_template = "admin/otel_aa/token_change_form.html"
        change_list_template = "admin/otel_aa/token_change_list.html"
        list_display = [*getattr(base, "list_display", ["name"]), "token", "send_stats",
                        "otel_page_views", "otel_celery_events", "otel_aggregate_celery_events"]

        def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False,
                     **kwargs: Any) -> Any:
            if _switches_ready():
                kwargs["form"] = _switches_form(self.form)
            return super().get_form(request, obj, change, **kwargs)

        def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
            fieldsets = super().get_fieldsets(request, obj)
            fields = list(fieldsets[0][1]["fields"]) if len(fieldsets) == 1 else []
            if not all(f in fields for f in _OTEL_FIELDS):
                return fieldsets
            aa_fields = [f for f in fields if f not in _OTEL_FIELDS]
            return [(None, {"fields": aa_fields}),
                    ("otel-aa: what else this token receives", {"fields": list(_OTEL_FIELDS)})]

        def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
            super().save_model(request, obj, form, change)
            if "otel_page_views" not in form.cleaned_data:
                return  # otel-aa's table is missing: AA's own fields were saved
            AATokenSwitches.objects.update_or_create(aa_token_id=obj.pk, defaults={
                "page_views": bool(form.cleaned_data.get("otel_page_views")),
                "celery_events": bool(form.cleaned_data.get("otel_celery_events")),
                "aggregate_celery_events": bool(form.cleaned_data.get("otel_aa_aggregate_celery_events")),
                "ignore_paths": form.cleaned_data.get("otel_ignore_paths") or "",
            })
            announce_change()

        def delete_model(self, request: HttpRequest, obj: Any) -> None:
            pk = obj.pk
            super().delete_model(request, obj)
            if _switches_ready():
                AATokenSwitches.objects.filter(aa_token_id=pk).delete()
            announce_change()

        def token_notes(self, object_id: str | None) -> dict[str, Any]:
            row = AnalyticsTokens.objects.filter(pk=object_id).first() if object_id else None
            return deliveries.aa_token_notes(row)

        otel_page_views = _switch_column("page_views", "Page views")
        otel_celery_events = _switch_column("celery_events", "Celery events")
        otel_aggregate_celery_events = _switch_column("aggregate_celery_events", "Celery events as counts")

    admin.site.unregister(AnalyticsTokens)
    admin.site.register(AnalyticsTokens, AnalyticsTokensAdmin)
    return True


def _register_tokens() -> None:
    from django.apps import apps

    if not apps.is_installed("allianceauth.analytics"):
        admin.site.register(GAToken, GATokenAdmin)
        return
    try:
        _extend_aa_admin()
    except Exception as exc:  # AA's admin as it was beats no admin: the switches then stay off
        log_once("admin:aa-extend", logging.ERROR,
                 "otel-aa: could not add its switches to Alliance Auth's analytics token admin "
                 "(%s); page views and Celery events to AA's tokens stay off", type(exc).__name__,
                 logger=_logger)


# --- what left this server --------------------------------------------------------------------------

@admin.register(Deliveries)
class DeliveriesAdmin(admin.ModelAdmin):
    """One page, no objects: the changelist is the report."""

    def _allowed(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(user.is_active and user.is_staff and user.has_perm("otel_aa.view_deliveries"))

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        from django.urls import path

        return [path("", self.admin_site.admin_view(self.changelist_view),
                     name="otel_aa_deliveries_changelist")]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) \
            -> HttpResponse:
        if not self._allowed(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), **deliveries.page_context(),
                   "title": "What left this server for Google Analytics", "opts": self.model._meta}
        return TemplateResponse(request, "admin/otel_aa/deliveries.html", context)


_register_tokens()
