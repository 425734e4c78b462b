from __future__ import annotations

from django.urls import path

from benchsite import views

urlpatterns = [
    path("", views.page, name="home"),
    path("dashboard/", views.page, name="dashboard"),
    path("character/<int:character_id>/", views.character, name="character"),
]
