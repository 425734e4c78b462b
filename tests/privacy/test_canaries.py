"""Each leak class of issue 10 as a canary, through Django instrumented as otel-aa does it, GA on
loopback: under both HTTP semantic-convention modes and both page-title modes, no canary reaches
a GA payload or an otel-aa log line. In the ``html`` title mode each canary page is fetched by
fewer visitors than k (a visitor's own data is seen from that visitor only), and a page every
visitor sees alike (``/shared/``) shows that the mode does send HTML titles once k saw them.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings

from privacy import views
from privacy.conftest import SECRET, Pipeline
from privacy.urls import ADMIN_MOUNT

pytestmark = [pytest.mark.timeout(120), pytest.mark.django_db]

CANARY = views.CANARY
NAME = f"Jane Doe {CANARY}"  # a character name; AA's username for it is "Jane_Doe_zq7canary"


def _request(client: Client, name: str, visitor: int) -> Any:
    return client.get(
        f"/{name}/",
        {"q": f"{CANARY} search"},
        HTTP_REFERER=f"https://forum.example/{CANARY}?u={CANARY}",
        HTTP_X_CHARACTER=NAME,
        HTTP_X_TEST_USER=NAME.replace(" ", "_"),
        HTTP_X_TEST_EMAIL=f"{CANARY}@localhost",
        HTTP_ACCEPT_LANGUAGE=f"{CANARY};q=1, de;q=0.5",
        HTTP_USER_AGENT=f"Mozilla/5.0 {CANARY}",
        REMOTE_ADDR=f"203.0.113.{visitor}",
    )


def _assert_no_canary(pipeline: Pipeline, caplog: pytest.LogCaptureFixture) -> None:
    raw = b"".join(hit.raw for hit in pipeline.ga.requests).decode("utf-8", "replace")
    for planted in (CANARY, CANARY.upper(), "Jane", "jane", ADMIN_MOUNT, "203.0.113", SECRET):
        assert planted not in raw, f"{planted!r} reached a GA payload"
    otel_aa_lines = [r.getMessage() for r in caplog.records
                     if r.name.startswith(("otel_aa", "opentelemetry.exporter.google_analytics"))]
    assert not [line for line in otel_aa_lines if CANARY in line or "Jane" in line]


@override_settings(ROOT_URLCONF="privacy.urls")
@pytest.mark.parametrize("name", sorted(views.LEAKS))
def test_leak_classes(
    pipeline: Pipeline, title_mode: str, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = Client()
    client.cookies["nickname"] = CANARY
    if name == "async-dashboard":
        user = User.objects.create(username=NAME.replace(" ", "_"), email=f"{CANARY}@localhost")
        client.force_login(user)
    # Two distinct visitors (k is 3) and the first one again: still below k.
    for visitor in (1, 2, 1):
        response = _request(client if visitor == 1 else _second(client, name), name, visitor)
        assert response.status_code == 200
        # The page does show the visitor's data (the canary test would prove nothing otherwise).
        shown = (CANARY.encode(), CANARY.upper().encode(), b"203.0.113.", "\uff5a\uff51\uff17".encode())
        assert any(p in response.content for p in shown)
    params = pipeline.page_views()
    assert len(params) == 3
    for hit in params:
        assert hit["page_title"] == name  # the view name, in either mode
        assert hit["page_location"] == f"https://site.invalid/{name}/"
        # Django reads a header with a malformed tag as no preference at all, as LocaleMiddleware.
        assert "language" not in hit
    assert pipeline.ga.invalid == []
    _assert_no_canary(pipeline, caplog)


def _second(client: Client, name: str) -> Client:
    other = Client()
    other.cookies["nickname"] = CANARY
    if name == "async-dashboard":
        other.cookies.update(client.cookies)  # the same user, in a second browser
    return other


@override_settings(ROOT_URLCONF="privacy.urls")
def test_a_title_every_visitor_sees_is_sent_once_k_saw_it(pipeline: Pipeline, title_mode: str) -> None:
    for visitor in range(1, 4):
        assert Client(REMOTE_ADDR=f"198.51.100.{visitor}").get("/shared/").status_code == 200
    titles = [hit["page_title"] for hit in pipeline.page_views()]
    expected = ["shared", "shared", "Fleet timers"] if title_mode == "html" else ["shared"] * 3
    assert titles == expected


@override_settings(ROOT_URLCONF="privacy.urls")
@pytest.mark.parametrize(("path", "location", "title"), [
    (f"/{ADMIN_MOUNT}/", "/<admin>/", "admin:index"),
    (f"/{ADMIN_MOUNT}/auth/user/{CANARY}/change/", "/<admin>/auth/user/<path:object_id>/change/",
     "admin:auth_user_change"),
])
def test_the_admin_mount_point_never_reaches_ga(
    pipeline: Pipeline, title_mode: str, path: str, location: str, title: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert Client().get(path).status_code == 200
    (hit,) = pipeline.page_views()
    assert hit["page_location"] == "https://site.invalid" + location
    assert hit["page_title"] == title
    _assert_no_canary(pipeline, caplog)
    # The admin's own backend (the full span) still has the real route.
    (span,) = [s for s in pipeline.raw.get_finished_spans() if s.attributes.get("http.route")]
    assert str(span.attributes["http.route"]).startswith(ADMIN_MOUNT)


@override_settings(ROOT_URLCONF="privacy.urls")
def test_a_path_value_whose_str_raises_is_never_converted(pipeline: Pipeline, title_mode: str) -> None:
    # The guard_reraises fixture fails this test if the hook raised and was swallowed.
    assert Client().get("/thing/42/", HTTP_ACCEPT_LANGUAGE="fr-CA,fr;q=0.8").status_code == 200
    (hit,) = pipeline.page_views()
    assert hit["page_location"] == "https://site.invalid/thing/<unprintable:thing>/"
    assert hit["page_title"] == "thing"
    assert hit["language"] == "fr"


@override_settings(ROOT_URLCONF="privacy.urls")
@pytest.mark.guard_expected
def test_a_hook_failing_partway_keeps_the_page_view_and_attributes(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, guard_reraises: list[BaseException]
) -> None:
    from otel_aa import _config as config
    from otel_aa import _titles as titles

    def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("the title step failed")

    monkeypatch.setenv("OTEL_AA_PAGE_TITLE", "html")
    config.reload()
    monkeypatch.setattr(titles, "html_title", broken)
    response = Client().get("/shared/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    (hit,) = pipeline.page_views()
    assert hit["page_title"] == "shared" and hit["language"] == "de"
    assert [type(e) for e in guard_reraises] == [RuntimeError]


@override_settings(ROOT_URLCONF="privacy.urls", LANGUAGES=[("en", "English"), ("de", "German"),
                                                           ("zh-hans", "Simplified Chinese")])
@pytest.mark.parametrize(("header", "expected"), [
    ("fr-CA,fr;q=0.9,de;q=0.2", "de"),  # French isn't offered: the next preference that is
    ("de;q=0.1, en;q=0.9", "en"),  # by q-weight, not by position
    ("zh-CN,zh;q=0.9", "zh-hans"),  # Django's own fallbacks
    ("DE-de", "de"),
    ("*", None),
    (f"{CANARY}, x-{CANARY}", None),
    ("en-US\r\nX-Injected: 1", None),  # malformed as a whole, as Django reads it
    ("", None),
])
def test_language_is_a_member_of_the_sites_languages(
    pipeline: Pipeline, header: str, expected: str | None
) -> None:
    assert Client().get("/shared/", HTTP_ACCEPT_LANGUAGE=header).status_code == 200
    (hit,) = pipeline.page_views()
    assert hit.get("language") == expected
