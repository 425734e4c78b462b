"""URLs of the hostile-input tests (used with ``override_settings(ROOT_URLCONF="hostile.urls")``)."""

from __future__ import annotations

from django.urls import path, re_path

from hostile import views

# One route per kind, without path values: a page about one object (a route with values) sends
# its view name as title, so these routes keep the title-reading path under test.
urlpatterns = [
    *[path(f"title/{kind}/", views.title_view(kind), name=f"title-{kind}") for kind in views.TITLES],
    *[path(f"big/{kind}/", views.big_view(kind), name=f"big-{kind}") for kind in views.BIG],
    path("stream/", views.stream, name="stream"),
    re_path(r"^any/(?P<rest>.*)$", views.anything, name="anything"),
]
