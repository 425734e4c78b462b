"""Tasks of the test project, one per Celery event rule."""

from __future__ import annotations

from typing import Any

from celery import shared_task

import otel_aa


@shared_task
def add(x: int, y: int) -> int:
    return x + y


@shared_task
def echo(text: str) -> str:
    # A non-integer result: never sent.
    return text


@shared_task
def fail(text: str) -> None:
    raise ValueError(text)


@shared_task
def returns_bool() -> bool:
    return True


@shared_task(bind=True, max_retries=3)
def retry_once(self: Any, text: str) -> int:
    if self.request.retries == 0:
        # Not countdown=0: on a threads pool the retried run could then start before this run's
        # task_postrun, and Celery's instrumentation, which keys its context by task id, would
        # lose one run's span (upstream; see the operations docs).
        raise self.retry(countdown=1, exc=KeyError(text))
    return 7


@shared_task
def custom_event(label: str) -> None:
    otel_aa.analytics_event("myapp", "from_task", label=label, value=5)


@shared_task
def count_users() -> int:
    # A task that uses the database, as Alliance Auth's do (otel-aa reads only a database the
    # host itself uses in the process).
    from django.contrib.auth.models import User

    return User.objects.count()
