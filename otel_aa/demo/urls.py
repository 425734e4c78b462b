"""The demo site's routes: a root page, an included app, path converters and a ``re_path``."""

from __future__ import annotations

from django.urls import include, path, re_path

from otel_aa.demo import views

urlpatterns = [
    path("", views.home, name="home"),
    path("character/<int:character_id>/", views.character, name="character"),
    re_path(r"^corporation/(?P<ticker>[A-Z0-9]{2,5})/$", views.corporation, name="corporation"),
    path("fleet/", include("otel_aa.demo.fleet.urls")),
    path("api/status/", views.status_json, name="status"),
    path("go/home/", views.go_home, name="go-home"),
    path("healthz/", views.healthz, name="healthz"),
]
