"""An Alliance Auth 2.x/3.x-style analytics middleware, re-implemented for comparison only.

What AA 3.x did on every response, and what this module does the same way so the benchmarks price it
fairly: read the tokens and the install identifier from the database, parse the whole HTML body
with BeautifulSoup to find the ``<title>``, then for each token check its ignore paths (one more
query each) and queue one Celery task to the broker; and for every Celery task that finished,
the same per token from ``task_success``/``task_failure`` receivers. Nothing here is used by otel-aa.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchsite.models import AnalyticsIdentifier, AnalyticsTokens
from benchsite.tasks import send_ga_tracking_web_view
from bs4 import BeautifulSoup
from django.conf import settings
from django.http import HttpRequest, HttpResponse

# AA sent this when the browser sent no User-Agent.
_FALLBACK_USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"


class AnalyticsMiddleware:
    """Queue one GA page-view task per configured token, as AA 3.x's middleware did."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(settings, "ANALYTICS_DISABLED", False):
            return response
        tokens = AnalyticsTokens.objects.all()
        client_id = AnalyticsIdentifier.objects.get(id=1).identifier.hex
        try:
            title = BeautifulSoup(response.content, "html.parser").html.head.title.text
        except AttributeError:
            title = ""
        for token in tokens:
            if not token.send_page_views:
                continue
            if token.ignore_paths.filter(ignore_path=request.path).exists():
                continue
            send_ga_tracking_web_view.s(
                tracking_id=token.token,
                client_id=client_id,
                page=request.path,
                title=title,
                locale=request.LANGUAGE_CODE,
                useragent=request.headers.get("User-Agent", _FALLBACK_USER_AGENT),
            ).apply_async(priority=9)
        return response


def analytics_event(namespace: str, task: str, label: str = "", result: str = "", value: int = 0) -> None:
    """AA 3.x's ``analytics_event()``: read the tokens, queue one Celery task per allowed token."""
    from benchsite.tasks import send_ga_tracking_celery_event

    client_id = AnalyticsIdentifier.objects.get(id=1).identifier.hex
    for token in AnalyticsTokens.objects.all():
        if not token.send_celery_tasks:
            continue
        send_ga_tracking_celery_event.s(
            measurement_id=token.token,
            secret=token.secret,
            client_id=client_id,
            category=namespace,
            action=task,
            label=label,
            result=result,
            value=value,
        ).apply_async(priority=9)


def _on_task_success(sender: Any = None, result: Any = None, **kwargs: Any) -> None:
    if getattr(settings, "ANALYTICS_DISABLED", False) or sender is None:
        return
    namespace, _, task = sender.name.rpartition(".")
    if namespace.startswith("allianceauth.analytics"):
        return  # AA did not report its own analytics tasks
    analytics_event(namespace, task, result="Success", value=result if isinstance(result, int) else 0)


def _on_task_failure(sender: Any = None, exception: BaseException | None = None, **kwargs: Any) -> None:
    if getattr(settings, "ANALYTICS_DISABLED", False) or sender is None:
        return
    namespace, _, task = sender.name.rpartition(".")
    analytics_event(namespace, task, result=f"FAILURE: {type(exception).__name__}")


def connect_task_signals() -> None:
    """Hook AA 3.x's ``task_success``/``task_failure`` receivers (each event: one task per token)."""
    from celery.signals import task_failure, task_success

    task_success.connect(_on_task_success, weak=False)
    task_failure.connect(_on_task_failure, weak=False)
