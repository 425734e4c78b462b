"""Views of the demo's fleet app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def fleet_list(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/page.html", {"title": "Fleet operations", "body": "2 fleets"})


def fleet_detail(request: HttpRequest, fleet_key: str) -> HttpResponse:
    return render(request, "demo/page.html", {"title": "Fleet", "body": "fleet details"})
