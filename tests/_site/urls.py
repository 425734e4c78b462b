"""URLs: the root route, a typed path, an include()d route, a re_path, and the non-pages."""

from __future__ import annotations

from django.urls import include, path, re_path

from _site import views

urlpatterns = [
    path("", views.home, name="home"),
    path("character/<int:character_id>/", views.character, name="character"),
    path("corp/", include("_site.corp_urls")),
    re_path(r"^article/(?P<article_id>[0-9]+)/$", views.article, name="article"),
    path("ignored/", views.ignored, name="ignored"),
    path("api/", views.api, name="api"),
    path("redirect/", views.redirect, name="redirect"),
    path("boom/", views.boom, name="boom"),
    path("streaming/", views.streaming, name="streaming"),
    path("healthz/", views.healthz, name="healthz"),
    path("custom-event/", views.custom_event, name="custom-event"),
    path("enqueue/", views.enqueue, name="enqueue"),
    path("hold/", views.hold, name="hold"),
    re_path(r"^static/(?P<path>.*)$", views.static_file, name="static"),
]
