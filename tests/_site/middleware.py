"""Plants a loaded user (for the canary tests) without a database query."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class TestUserMiddleware:
    """``X-Test-User: name`` and ``X-Test-Email``: ``request.user`` becomes that (unsaved) user."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        name = request.META.get("HTTP_X_TEST_USER")
        if name:
            from django.contrib.auth.models import User

            request.user = User(username=name, email=request.META.get("HTTP_X_TEST_EMAIL", ""))
        return self.get_response(request)
