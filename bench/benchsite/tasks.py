"""AA 3.x's analytics task signature, and a plain task for the Celery overhead benchmark."""

from __future__ import annotations

from benchsite.celery import app


@app.task(name="allianceauth.analytics.tasks.send_ga_tracking_web_view")
def send_ga_tracking_web_view(
    tracking_id: str, client_id: str, page: str, title: str, locale: str, useragent: str
) -> None:
    """Never run in the benchmark: only its publishing cost on the request path is measured."""


@app.task(name="benchsite.tasks.add")
def add(x: int, y: int) -> int:
    return x + y


@app.task(name="allianceauth.analytics.tasks.send_ga_tracking_celery_event")
def send_ga_tracking_celery_event(**kwargs: object) -> None:
    """Never run in the benchmark: AA 3.x queued one per token per finished task."""
