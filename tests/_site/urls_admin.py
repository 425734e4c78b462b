"""The test project's URLs plus Django's admin."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from _site.urls import urlpatterns as site_urlpatterns

urlpatterns = [path("admin/", admin.site.urls), *site_urlpatterns]
