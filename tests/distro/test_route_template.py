"""The route template GA sees (``ga.page.route``): Django's own tools, never a path value."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import URLResolver, re_path
from django.urls.resolvers import RegexPattern
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind

from otel_aa import _routes as routes
from otel_aa._django_hook import django_response_hook
from otel_aa._routes import MAX_OPTIONAL_GROUPS, UNREVERSIBLE, route_template


@pytest.mark.parametrize(("route", "template"), [
    # path() routes: as the exporter's old parser gave them, exactly.
    ("", "/"),
    ("character/<int:character_id>/", "/character/<int:character_id>/"),
    ("/already/slashed/", "/already/slashed/"),
    ("robots.txt", "/robots.txt"),
    ("corp/<slug:corp>/members/", "/corp/<slug:corp>/members/"),
    # re_path() routes: the group names; an unnamed group is <var>.
    ("^$", "/"),
    ("^character/(?P<character_id>[0-9]+)/$", "/character/<character_id>/"),
    (r"^api/(\d+)/detail\.json$", "/api/<var>/detail.json"),
    (r"^srp/(?P<pk>\d+)/(?P<slug>[-\w]+)/\Z", "/srp/<pk>/<slug>/"),
    ("^admin/^auth/user/(?P<object_id>.+)/change/$", "/admin/auth/user/<object_id>/change/"),
    ("^corp/members/<int:pk>/", "/corp/members/<int:pk>/"),  # a re_path include() of path() routes
    # What normalize gives for the rest, documented in otel_aa._routes.
    (r"^p/(\d+)/(\d+)?/$", "/p/<var>/<var>/"),  # the fullest form
    (r"^x/(?P<a>\d+)(?:/(?P<b>\d+))?/$", "/x/<a>/<b>/"),
    (r"^x/[a-z]+/\d{2}/$", "/x/a/00/"),  # a class outside a group: normalize's stand-in
    (r"^(?P<a>x)/(?P=a)/$", "/<a>/<a>/"),  # a back-reference names its group
    (r"^x(?=y)y/$", "/xy/"),  # a look-ahead matches no text
    ("^fleet/(?:join|leave)/[a-z]+/$", UNREVERSIBLE),  # an alternation: Django can't reverse it
    ("^(?i)abc$", UNREVERSIBLE),  # inline flags, likewise
    ("^" + "(?:/(a))?" * (MAX_OPTIONAL_GROUPS + 1) + "$", UNREVERSIBLE),  # 2**n forms: not tried
])
def test_route_template(route: str, template: str) -> None:
    assert route_template(route) == template


def test_the_template_is_worked_out_once_per_route() -> None:
    route_template.cache_clear()
    for _ in range(3):
        route_template("^article/(?P<article_id>[0-9]+)/$")
    info = route_template.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    assert info.maxsize is not None  # bounded: a site has a bounded set of routes, the cache too


_SEGMENT = st.from_regex(r"[a-z][a-z0-9_.-]{0,8}", fullmatch=True)
_CONVERTER = st.builds(lambda kind, name: f"<{kind}:{name}>",
                       st.sampled_from(["int", "str", "slug", "path", "uuid"]),
                       st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True))


@given(st.lists(st.one_of(_SEGMENT, _CONVERTER), max_size=6))
def test_a_path_route_is_kept_as_written(parts: list[str]) -> None:
    route = "".join(f"{part}/" for part in parts)
    assert route_template(route) == "/" + route


# --- re_path() patterns: no path value gets through ----------------------------------------------

# Literals and group names are lowercase; what a group captures is digits or uppercase: any digit
# or uppercase letter in a template would be a path value.
_NAME = st.from_regex(r"[a-z][a-z_]{0,6}", fullmatch=True)
_CAPTURE = st.sampled_from([r"[0-9]+", r"\d+", r"[A-Z]+", r"[0-9A-F]{4}", r"[A-Z0-9]+"])


@st.composite
def _re_path_pattern(draw: Any) -> str:
    pieces: list[str] = []
    names: set[str] = set()
    kinds = draw(st.lists(st.sampled_from(["literal", "named", "unnamed", "optional", "class"]), max_size=5))
    if not {"named", "unnamed"} & set(kinds):
        kinds.insert(draw(st.integers(0, len(kinds))), "named")  # something is always captured
    for kind in kinds:
        if kind == "literal":
            pieces.append(draw(st.from_regex(r"[a-z]{1,8}", fullmatch=True)) + "/")
            continue
        if kind == "class":
            pieces.append("[a-z]+/")  # not captured: normalize's stand-in is "a", a literal's letter
            continue
        capture = draw(_CAPTURE)
        if kind == "unnamed":
            pieces.append(f"({capture})/")
            continue
        name = draw(_NAME.filter(lambda n: n not in names))
        names.add(name)
        group = f"(?P<{name}>{capture})"
        pieces.append(f"(?:{group}/)?" if kind == "optional" else f"{group}/")
    return "^" + "".join(pieces) + "$"


def _view(request: Any, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_no_path_value_reaches_the_template_of_a_re_path(data: Any) -> None:
    pattern = data.draw(_re_path_pattern())
    path = "/" + data.draw(st.from_regex(pattern, fullmatch=True).filter(lambda p: "\n" not in p))
    resolver = URLResolver(RegexPattern(r"^/"), [re_path(pattern, _view, name="page")])
    match = resolver.resolve(path)
    request = RequestFactory().get(path)
    request.resolver_match = match
    span = TracerProvider().get_tracer("test").start_span("GET", kind=SpanKind.SERVER)
    django_response_hook(span, request, HttpResponse("<html>", content_type="text/html"))
    template = span.attributes["ga.page.route"]

    assert template == route_template(pattern)  # from the pattern alone, whatever the path
    # Every group's text (Django passes the view only the named ones when there are any).
    groups = re.fullmatch(pattern, path[1:])
    assert groups is not None
    values = [v for v in groups.groups() if v]
    assert values  # the path has values the template must not hold
    assert not any(c.isdigit() or c.isupper() for c in template), (pattern, path, template)
    for value in values:
        assert value not in template
    for name, value in match.kwargs.items():
        if value is not None:
            assert f"<{name}>" in template


def test_every_page_gets_its_route_template_and_the_admin_its_placeholder() -> None:
    from django.urls import resolve

    tracer = TracerProvider().get_tracer("test")
    seen = {}
    for path in ("/", "/character/42/", "/article/7/", "/corp/wolves/members/"):
        request = RequestFactory().get(path)
        request.resolver_match = resolve(path)
        span = tracer.start_span("GET", kind=SpanKind.SERVER)
        django_response_hook(span, request, HttpResponse("<html>", content_type="text/html"))
        seen[path] = span.attributes["ga.page.route"]
    assert seen["/"] == "/"
    assert seen["/character/42/"] == "/character/<int:character_id>/"
    assert seen["/article/7/"] == "/article/<article_id>/"
    assert seen["/corp/wolves/members/"] == "/corp/<slug:corp>/members/"  # an include()
    assert "42" not in "".join(seen.values()) and "7" not in seen["/article/7/"]


@pytest.mark.parametrize(("path", "template"), [
    ("/ops-7f3k2q9Zx/", "/<admin>/"),
    ("/ops-7f3k2q9Zx/auth/user/5/change/", "/<admin>/auth/user/<path:object_id>/change/"),
])
def test_the_admin_mount_point_stays_home(path: str, template: str) -> None:
    from django.urls import resolve

    request = RequestFactory().get(path)
    request.urlconf = "privacy.urls"  # a secret-looking mount point, as admins write it
    request.resolver_match = resolve(path, urlconf=request.urlconf)
    span = TracerProvider().get_tracer("test").start_span("GET", kind=SpanKind.SERVER)
    django_response_hook(span, request, HttpResponse("<html>", content_type="text/html"))
    assert span.attributes["ga.page.route"] == template
    assert template.startswith("/" + routes.ADMIN_PLACEHOLDER)
