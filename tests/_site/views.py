"""Views of the test project, one per page-view rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import HttpResponse, HttpResponseRedirect, JsonResponse, StreamingHttpResponse
from django.shortcuts import render

import otel_aa

STATIC_ROOT = Path(__file__).resolve().parent / "static"


def home(request: Any) -> HttpResponse:
    return render(request, "page.html", {"title": "Home & welcome", "body": "home"})


def character(request: Any, character_id: int) -> HttpResponse:
    user = getattr(request, "user", None)
    name = getattr(user, "username", "") or "anonymous"
    email = getattr(user, "email", "") or ""
    host = request.get_host().split(":")[0]
    title = f"Character {character_id} of {name} {email} on {host} from 203.0.113.9"
    return render(request, "page.html", {"title": title, "body": request.GET.urlencode()})


def corp_members(request: Any, corp: str) -> HttpResponse:
    return render(request, "page.html", {"title": f"Members of {corp}", "body": corp})


def article(request: Any, article_id: str) -> HttpResponse:
    return render(request, "page.html", {"title": "Article", "body": article_id})


def ignored(request: Any) -> HttpResponse:
    return render(request, "page.html", {"title": "Ignored page", "body": ""})


def api(request: Any) -> JsonResponse:
    return JsonResponse({"ok": True})


def redirect(request: Any) -> HttpResponseRedirect:
    return HttpResponseRedirect("/")


def boom(request: Any) -> HttpResponse:
    raise RuntimeError(request.GET.get("msg", "boom"))


def streaming(request: Any) -> StreamingHttpResponse:
    return StreamingHttpResponse(iter([b"<html><head><title>Streamed</title></head>", b"</html>"]),
                                 content_type="text/html; charset=utf-8")


def healthz(request: Any) -> HttpResponse:
    return render(request, "page.html", {"title": "Health", "body": "ok"})


def custom_event(request: Any) -> JsonResponse:
    otel_aa.analytics_event("myapp", "sync_done", label="corp", value=3)
    return JsonResponse({"ok": True})


def enqueue(request: Any) -> JsonResponse:
    from _site import tasks

    tasks.add.delay(2, 3)
    return JsonResponse({"ok": True})


def static_file(request: Any, path: str) -> HttpResponse:
    from django.views.static import serve

    return serve(request, path, document_root=str(STATIC_ROOT))


def hold(request: Any) -> HttpResponse:
    """Report this worker's pid in Redis, then wait for the test to release it (both bounded).

    A sync worker serves one request at a time: two requests held at once are in two workers.
    """
    import os

    import redis

    prefix = os.environ["OTEL_AA_TEST_REDIS_PREFIX"]
    client = redis.Redis.from_url(os.environ["OTEL_AA_TEST_REDIS_URL"])
    try:
        client.rpush(prefix + "hold:arrived", os.getpid())
        client.blpop([prefix + "hold:release"], timeout=20)
    finally:
        client.close()
    return render(request, "page.html", {"title": "Held", "body": ""})
