"""The page path GA sees for a resolved request: its route's template, never the request's path.

:func:`route_template` turns the resolver match's ``route`` (the URLconf's patterns, joined) into
the ``ga.page.route`` the response hook sets, with Django's own reverse-URL tool,
:func:`django.utils.regex_helper.normalize`:

- ``path()`` routes are kept as written: ``character/<int:character_id>/`` →
  ``/character/<int:character_id>/``; the root route ``""`` is ``/``.
- ``re_path()`` routes: a named group is ``<name>`` (``^character/(?P<character_id>[0-9]+)/$`` →
  ``/character/<character_id>/``), an unnamed group ``<var>`` (normalize's ``%(_0)s``). An
  optional group that holds a group is kept (normalize's fullest form: ``(?:/(?P<page>\\d+))?``
  → ``/<page>``). What normalize makes of the rest is kept too: a character class or escape
  outside any group becomes the one character normalize stands in for it (``[a-z]+`` → ``a``,
  ``\\d{2}`` → ``00``, ``.`` → ``.``), anchors and look-arounds vanish. Every character of the
  template comes from the pattern, none from the request.
- A pattern Django can't reverse either (an alternation ``a|b``, inline flags ``(?i)``), or one
  with more than :data:`MAX_OPTIONAL_GROUPS` optional groups (each doubles normalize's forms), is
  :data:`UNREVERSIBLE`.
- Admin pages: :func:`admin_route` puts ``<admin>/`` where the admin site is mounted (often a
  secret path).

Which routes are regexes is told as the previous (exporter) parser told it, the way Django's own
check ``2_0.W001`` spots a regex in a ``path()``: ``^`` first, ``$`` last, ``(?`` or ``\\``.
"""

from __future__ import annotations

import functools
from typing import Any

from otel_aa._closed_sets import is_code_name

__all__ = ["ADMIN_PLACEHOLDER", "MAX_OPTIONAL_GROUPS", "UNREVERSIBLE", "admin_route", "route_template"]

#: Stands in for the admin site's mount point in an admin page's route.
ADMIN_PLACEHOLDER = "<admin>/"
#: The template of a ``re_path()`` route normalize can't reverse.
UNREVERSIBLE = "/<var>/"
#: Optional groups a regex route may have before it is :data:`UNREVERSIBLE` (2**n forms).
MAX_OPTIONAL_GROUPS = 8
_UNNAMED = "<var>"
# Optional groups, over-counted (an escaped ")" counts too): normalize makes two forms of each.
_OPTIONAL = (")?", ")*", "){0")


@functools.lru_cache(maxsize=1024)
def route_template(route: str) -> str:
    """The page path for the resolver match's ``route`` (see the module's docstring). Cached per
    route: a site has a bounded set of them, and each is worked out once."""
    text = _regex_template(route) if _is_regex(route) else route
    return text if text.startswith("/") else "/" + text


def _is_regex(route: str) -> bool:
    return route.startswith("^") or route.endswith("$") or "(?" in route or "\\" in route


def _regex_template(route: str) -> str:
    from django.utils.regex_helper import normalize

    if sum(route.count(mark) for mark in _OPTIONAL) > MAX_OPTIONAL_GROUPS:
        return UNREVERSIBLE
    try:
        forms = normalize(route)
    except (ValueError, IndexError, KeyError):  # what normalize raises on what it can't reverse
        return UNREVERSIBLE
    if not forms or (forms == [("", [])] and "|" in route):
        return UNREVERSIBLE  # normalize's answer to an alternation
    # The fullest form: every optional group that holds a path value present.
    text, params = max(forms, key=lambda form: (len(form[1]), len(form[0])))
    for name in params:
        text = text.replace(f"%({name})s", _UNNAMED if _is_unnamed(name) else f"<{name}>")
    # A back-reference (?P=name) is in the text but not among the parameters.
    return text if "%(" not in text else _named_back_references(text)


def _is_unnamed(name: str) -> bool:
    # normalize names the n-th unnamed group "_n".
    return name.startswith("_") and name[1:].isdigit()


def _named_back_references(text: str) -> str:
    out: list[str] = []
    rest = text
    while "%(" in rest:
        before, _, after = rest.partition("%(")
        name, closed, tail = after.partition(")s")
        out.append(before + (f"<{name}>" if closed else "%(" + name))
        rest = tail
    return "".join(out) + rest


def admin_route(match: Any, urlconf: Any = None) -> str:
    """``/<admin>/`` and the template of the admin's own part of the route: the mount point
    (``path("ops-7f3k2q9Zx/", admin.site.urls)``) never reaches GA."""
    from django.conf import settings
    from django.urls import get_script_prefix

    route = str(match.route)
    namespaces = tuple(str(n) for n in (getattr(match, "namespaces", None) or ()))
    mount = _admin_mount(urlconf if isinstance(urlconf, str) else settings.ROOT_URLCONF, namespaces,
                         get_script_prefix())
    for prefix in (mount, "^" + mount) if mount else ():
        if route.startswith(prefix):
            return "/" + ADMIN_PLACEHOLDER + route_template(route[len(prefix):]).lstrip("/")
    # A mount that can't be cut off cleanly (a regex): the admin URL's name stands in.
    url_name = getattr(match, "url_name", None)
    return "/" + ADMIN_PLACEHOLDER + (str(url_name) if is_code_name(url_name) else "")


@functools.lru_cache(maxsize=32)
def _admin_mount(urlconf: str, namespaces: tuple[str, ...], script_prefix: str) -> str | None:
    # The admin index's path without the script prefix: the route's mount part. Cached: reverse()
    # walks the resolver.
    from django.urls import NoReverseMatch, reverse

    try:
        index = reverse(":".join((*namespaces, "index")), urlconf=urlconf)
    except NoReverseMatch:
        return None
    return index[len(script_prefix):] if index.startswith(script_prefix) else index.lstrip("/")
