"""Views of the demo site: HTML pages with titles, and the answers that are not page views."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render

# A few made-up characters; an id outside them answers 404.
CHARACTERS = {90000001: "Ava Stormbreaker", 90000002: "Kiro Voss"}


def home(request: HttpRequest) -> HttpResponse:
    # The user's name in the title, as many sites do: otel-aa must scrub it before GA sees it.
    title = f"Dashboard of {request.user.get_username()}" if request.user.is_authenticated else "Dashboard"
    return render(request, "demo/page.html", {"title": title, "body": "Welcome to the demo auth."})


def character(request: HttpRequest, character_id: int) -> HttpResponse:
    name = CHARACTERS.get(character_id)
    if name is None:
        raise Http404("no such character")
    # The title is generic on purpose: a character's name is private, the page kind is not.
    return render(request, "demo/page.html", {"title": "Character sheet", "body": name})


def corporation(request: HttpRequest, ticker: str) -> HttpResponse:
    # The ticker comes from the path: otel-aa must scrub it from the title.
    return render(request, "demo/page.html", {"title": f"Corporation {ticker}", "body": f"[{ticker}]"})


def status_json(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def go_home(request: HttpRequest) -> HttpResponse:
    return redirect("home")


def healthz(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/page.html", {"title": "Health", "body": "ok"})
