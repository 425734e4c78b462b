"""Pages that put a visitor's own data in their <title>, each on a route without path values.

Every leak class of issue 10 is one view: a value echoed from the request, an Alliance Auth
character name, an IP followed by punctuation, case folding, an address without a dotted domain,
full-width characters, a <title> inside an SVG or a comment, an HTML fragment.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse

#: Text planted in requests; none of it may reach GA or an otel-aa log line.
CANARY = "zq7canary"


def _page(title: str, body: str = "", head: str = "") -> HttpResponse:
    html = f"<!DOCTYPE html><html><head>{head}<title>{title}</title></head><body>{body}</body></html>"
    return HttpResponse(html, content_type="text/html; charset=utf-8")


def search(request: Any) -> HttpResponse:
    return _page(f"Search results for {request.GET.get('q', '')}")


def referer(request: Any) -> HttpResponse:
    return _page(f"You came from {request.META.get('HTTP_REFERER', '')}")


def cookie(request: Any) -> HttpResponse:
    return _page(f"Welcome back, {request.COOKIES.get('nickname', '')}")


def dashboard(request: Any) -> HttpResponse:
    # AA derives the username from the main character's name: "Jane Doe" -> "Jane_Doe".
    name = request.META.get("HTTP_X_CHARACTER", "")
    return _page(f"Dashboard - {name}")


async def async_dashboard(request: Any) -> HttpResponse:
    user = await request.auser()
    return _page(f"Dashboard - {getattr(user, 'username', '')} ({getattr(user, 'email', '')})")


def client_ip(request: Any) -> HttpResponse:
    return _page(f"Signed in from {request.META.get('REMOTE_ADDR', '')}.")


def shouting(request: Any) -> HttpResponse:
    return _page(f"PROFILE OF {request.META.get('HTTP_X_CHARACTER', '').upper()}")


def local_mail(request: Any) -> HttpResponse:
    return _page(f"Mail for {request.META.get('HTTP_X_CHARACTER', '')}@localhost")


def full_width(request: Any) -> HttpResponse:
    name = request.META.get("HTTP_X_CHARACTER", "")
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name)
    return _page(f"Profile {wide}")


def svg_title(request: Any) -> HttpResponse:
    name = request.META.get("HTTP_X_CHARACTER", "")
    body = f"<svg><title>{name}</title><circle r='1'/></svg>"
    html = f"<html><body>{body}</body></html>"
    return HttpResponse(html, content_type="text/html")


def commented_title(request: Any) -> HttpResponse:
    name = request.META.get("HTTP_X_CHARACTER", "")
    return _page("Fleet board", head=f"<!-- <title>{name}</title> -->")


def fragment(request: Any) -> HttpResponse:
    name = request.META.get("HTTP_X_CHARACTER", "")
    return HttpResponse(f"<div class='row'><title>{name}</title>{name}</div>", content_type="text/html")


def shared(request: Any, **kwargs: Any) -> HttpResponse:
    return _page("Fleet timers")


def object_page(request: Any, thing: Any) -> HttpResponse:
    return _page("An object")


#: What :func:`echo` answers next: (body, Content-Type), set by the property test.
NEXT: list[tuple[bytes, str]] = []


def echo(request: Any) -> HttpResponse:
    body, content_type = NEXT[-1]
    return HttpResponse(body, content_type=content_type)


#: name -> view, each mounted at /<name>/.
LEAKS = {
    "search": search,
    "referer": referer,
    "cookie": cookie,
    "dashboard": dashboard,
    "async-dashboard": async_dashboard,
    "client-ip": client_ip,
    "shouting": shouting,
    "local-mail": local_mail,
    "full-width": full_width,
    "svg-title": svg_title,
    "commented-title": commented_title,
    "fragment": fragment,
}
