"""Routes of the demo's fleet app, ``include()``-d under ``fleet/``."""

from __future__ import annotations

from django.urls import path

from otel_aa.demo.fleet import views

app_name = "fleet"

urlpatterns = [
    path("", views.fleet_list, name="list"),
    path("<slug:fleet_key>/", views.fleet_detail, name="detail"),
]
