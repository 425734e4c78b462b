"""URLs of the hostile-input tests (used with ``override_settings(ROOT_URLCONF="hostile.urls")``)."""

from __future__ import annotations

from django.urls import path, re_path

from hostile import views

urlpatterns = [
    path("title/<str:kind>/", views.title, name="title"),
    path("big/<str:kind>/", views.big, name="big"),
    path("stream/", views.stream, name="stream"),
    re_path(r"^any/(?P<rest>.*)$", views.anything, name="anything"),
]
