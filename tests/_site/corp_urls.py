from __future__ import annotations

from django.urls import path

from _site import views

urlpatterns = [path("<slug:corp>/members/", views.corp_members, name="corp-members")]
