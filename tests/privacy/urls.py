"""URLs of the privacy tests (``override_settings(ROOT_URLCONF="privacy.urls")``)."""

from __future__ import annotations

from typing import Any

from django.urls import include, path, register_converter

from privacy import views

#: A secret-looking admin mount point, as admins write it: it must never reach GA.
ADMIN_MOUNT = "ops-7f3k2q9Zx"


class Unprintable:
    """A path value whose str() fails (or would query the database)."""

    def __str__(self) -> str:
        raise RuntimeError("str() of a path value")


class UnprintableConverter:
    regex = "[0-9]+"

    def to_python(self, value: str) -> Any:
        return Unprintable()

    def to_url(self, value: Any) -> str:
        return "1"


register_converter(UnprintableConverter, "unprintable")

# What admin.site.urls returns: (patterns, app_name "admin", the site's name); the tests' site
# has no django.contrib.admin installed, and the hook only looks at the resolver match.
_admin = ([
    path("", views.shared, name="index"),
    path("auth/user/<path:object_id>/change/", views.shared, name="auth_user_change"),
], "admin")

urlpatterns = [
    *[path(f"{name}/", view, name=name) for name, view in views.LEAKS.items()],
    path("shared/", views.shared, name="shared"),
    path("echo/", views.echo, name="echo"),
    path("thing/<unprintable:thing>/", views.object_page, name="thing"),
    path(f"{ADMIN_MOUNT}/", include(_admin, namespace="admin")),
]
