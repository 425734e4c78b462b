"""End to end on a real Alliance Auth 5.x: page views, task events and daily stats, nothing private.

The site, gunicorn and the Celery worker come from ``conftest.py``. One test drives them all, in
the order an admin's site sees it: users browse, tasks run, the processes stop (and flush), and
then everything the loopback GA server received is checked.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import allianceauth
import pytest
import requests

from .conftest import AA_MEASUREMENT_ID, EXTENSION_APP, OWN_MEASUREMENT_ID, STEP_TIMEOUT, AASite

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: Page views the browsing below must produce: AA route templates, in any order.
EXPECTED_PAGE_ROUTES = sorted([
    "/dashboard/",
    "/dashboard/",  # again, with a query string
    "/notifications/",
    "/notifications/<int:notif_id>/",
    "/account/tokens/manage/",
    "/<admin>/login/",
    "/<admin>/",
    "/<admin>/authentication/user/<path:object_id>/change/",
])

DAILY_STATS_NAMESPACE = "allianceauth.analytics"

#: How long to wait for the daily stats while the processes run (they may also come at the stop).
STATS_WAIT = 30


def _browse(site: AASite, base_url: str) -> list[tuple[str, int, str]]:
    """A pilot and an admin use the site. Return (path, status, content type) per request."""
    c = site.canaries
    headers = {
        "Host": c.host,  # as behind the proxy: the site's real name
        "User-Agent": c.user_agent,
        "X-Forwarded-For": c.forwarded_ip,
        "Accept-Language": "de-DE,de;q=0.9,en;q=0.5",
    }
    seen: list[tuple[str, int, str]] = []

    def get(session: requests.Session, path: str, **kwargs: Any) -> requests.Response:
        response = session.get(base_url + path, headers=headers, allow_redirects=False,
                               timeout=STEP_TIMEOUT, **kwargs)
        seen.append((path, response.status_code, response.headers.get("Content-Type", "")))
        return response

    pilot = requests.Session()
    pilot.cookies.set(site.ids["session_cookie_name"], site.ids["session_key"])
    dashboard = get(pilot, "/dashboard/")
    assert dashboard.status_code == 200, dashboard.text[:2000]
    assert c.group_name in dashboard.text  # really logged in: the pilot's groups are listed
    assert get(pilot, f"/dashboard/?{c.query}").status_code == 200
    assert get(pilot, "/notifications/").status_code == 200
    note = get(pilot, f"/notifications/{c.notification_pk}/")
    assert note.status_code == 200 and c.notification_title in note.text
    assert get(pilot, "/account/tokens/manage/").status_code == 200
    count = get(pilot, "/user_notifications_count/")  # AA's JSON endpoint: not a page view
    assert count.status_code == 200 and count.headers["Content-Type"].startswith("application/json")
    # AA's own HTML error page, answered 404: not a page view.
    missing = get(pilot, f"/no-such-page-{c.missing_group_pk}/")
    assert missing.status_code == 404 and missing.headers["Content-Type"].startswith("text/html")
    assert get(pilot, "/").status_code == 302  # AA's index redirects: not a page view

    admin = requests.Session()
    login = get(admin, "/admin/login/")
    assert login.status_code == 200
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text)
    assert match, "no CSRF token in the admin login form"
    posted = admin.post(
        base_url + "/admin/login/?next=/admin/", headers=headers, allow_redirects=False,
        timeout=STEP_TIMEOUT,
        data={"csrfmiddlewaretoken": match.group(1), "username": c.admin_name,
              "password": c.admin_password, "next": "/admin/"},
    )
    seen.append(("/admin/login/ POST", posted.status_code, posted.headers.get("Content-Type", "")))
    assert posted.status_code == 302, posted.text[:2000]
    assert get(admin, "/admin/").status_code == 200
    change = get(admin, f"/admin/authentication/user/{c.user_pk}/change/")
    assert change.status_code == 200 and c.user_name in change.text
    return seen


def _private_values(site: AASite, port: int) -> dict[str, str]:
    c = site.canaries
    values = {
        "host": c.host, "site name": c.site_name, "loopback address": f"127.0.0.1:{port}",
        "admin name": c.admin_name,
        "admin e-mail": c.admin_email, "admin password": c.admin_password, "user name": c.user_name,
        "user e-mail": c.user_email, "user password": c.user_password, "user id": str(c.user_pk),
        "group id": str(c.group_pk), "group name": c.group_name,
        "notification id": str(c.notification_pk), "notification title": c.notification_title,
        "task argument": str(c.missing_group_pk), "query string": c.query.split("=")[1],
        "User-Agent": c.user_agent, "forwarded IP": c.forwarded_ip, "GA secret": c.ga_secret,
        "AA token secret": c.aa_token_secret, "SSO secret": c.sso_secret,
        "contact e-mail": c.contact_email, "session key": site.ids["session_key"],
    }
    return values


def _tails(processes: dict[str, Any]) -> str:
    return "".join(f"\n--- {name} log (tail) ---\n{processes[name].output()[-3000:]}"
                   for name in ("gunicorn", "worker"))


def _params(event: dict[str, Any]) -> dict[str, Any]:
    return event.get("params", {})


def test_real_alliance_auth(aa_site: AASite, aa_processes: dict[str, Any]) -> None:
    site, collector = aa_site, aa_site.collector
    base_url, port = aa_processes["base_url"], aa_processes["port"]

    seen = _browse(site, base_url)
    tasks = site.run_script("send_tasks", {"missing_group_pk": site.canaries.missing_group_pk,
                                           "timeout": STEP_TIMEOUT})
    assert tasks == {"ok": "SUCCESS", "failing": "FAILURE", "failing_exc": "DoesNotExist"}

    # The daily stats go out soon after start, once for the whole install (a lease in Redis).
    # Not asserted here: a process's final flush at the stop below may be what sends them.
    def stats_arrived(c: Any) -> bool:
        return all(
            any(_params(e).get("namespace") == DAILY_STATS_NAMESPACE
                for e in c.events("celery_event", measurement_id=mid))
            for mid in (OWN_MEASUREMENT_ID, AA_MEASUREMENT_ID)
        )
    collector.wait_for(stats_arrived, timeout=STATS_WAIT)

    # A graceful stop: each process flushes what it still holds.
    for name in ("gunicorn", "worker"):
        assert aa_processes[name].stop() == 0, aa_processes[name].output()[-4000:]
    logs = {name: aa_processes[name].output() for name in ("gunicorn", "worker")}
    expected = site.run_script("expected_stats")

    # Every check runs and every problem is reported at once: one run shows all that is wrong.
    problems = _check_hits(site, collector, expected, port, seen)
    problems += _check_logs(site, logs, port)
    assert not problems, "\n".join(problems) + "\n\nGA received:\n" + "\n".join(
        f"  {h.query.get('measurement_id')}: {h.body}" for h in collector.requests
    ) + _tails(aa_processes)


def _check_hits(site: AASite, collector: Any, expected: dict[str, Any], port: int,
                seen: list[tuple[str, int, str]]) -> list[str]:
    problems: list[str] = []

    def check(ok: bool, message: str) -> None:
        if not ok:
            problems.append(message)

    hits = collector.hits
    check(bool(hits), "GA received nothing")
    check(collector.invalid == [], f"invalid hits: {[h.validation for h in collector.invalid]}")
    ids = {h.query.get("measurement_id") for h in hits}
    check(ids <= {OWN_MEASUREMENT_ID, AA_MEASUREMENT_ID}, f"unknown measurement ids: {ids}")

    # -- page views: AA's route templates, once per viewed page, under a placeholder host --
    page_views = collector.events("page_view", measurement_id=OWN_MEASUREMENT_ID)
    locations = [_params(e).get("page_location", "") for e in page_views]
    routes = sorted(urlsplit(loc).path for loc in locations)
    check(routes == EXPECTED_PAGE_ROUTES,
          f"page views: got {routes}, want {EXPECTED_PAGE_ROUTES}; requests: {seen}")
    for loc in locations:
        parts = urlsplit(loc)
        check(parts.hostname not in (site.canaries.host, "127.0.0.1") and not parts.query,
              f"page_location {loc!r}")
    check({_params(e).get("language") for e in page_views} == {"de"},
          f"languages: {[_params(e).get('language') for e in page_views]}")
    check(all(_params(e).get("page_title") for e in page_views), "a page view without a title")
    # AA's own token is a daily-stats token (as in AA 4+): no page views or task events there.
    aa_other = [e for e in collector.events(measurement_id=AA_MEASUREMENT_ID)
                if _params(e).get("namespace") != DAILY_STATS_NAMESPACE]
    check(aa_other == [], f"AA's stats-only token got other events: {aa_other}")

    # -- task events: AA's real tasks through Redis on the threads pool --
    task_events = [_params(e) for e in collector.events("celery_event", measurement_id=OWN_MEASUREMENT_ID)
                   if _params(e).get("namespace") != DAILY_STATS_NAMESPACE]
    ok = [p for p in task_events if p.get("task") == "check_all_character_ownership"]
    check(len(ok) == 1 and ok[0].get("namespace") == "allianceauth.authentication"
          and ok[0].get("result") == "Success" and ok[0].get("value") == 1,
          f"check_all_character_ownership events: {ok}")
    failed = [p for p in task_events if p.get("task") == "remove_users_not_matching_states_from_group"]
    check(len(failed) == 1 and failed[0].get("namespace") == "allianceauth.groupmanagement"
          and failed[0].get("result") == "DoesNotExist",
          f"remove_users_not_matching_states_from_group events: {failed}")

    # -- daily stats: AA's own counts (what analytics_daily_stats would send), once per token --
    aa_events = expected["events"]
    want_install = sorted((e["label"], e["value"]) for e in aa_events if e["task"] == "send_install_stats")
    aa_extensions = {e["label"] for e in aa_events if e["task"] == "send_extension_stats"}
    for mid in (OWN_MEASUREMENT_ID, AA_MEASUREMENT_ID):
        stats = [_params(e) for e in collector.events("celery_event", measurement_id=mid)
                 if _params(e).get("namespace") == DAILY_STATS_NAMESPACE]
        install = sorted((p.get("label"), p.get("value")) for p in stats
                         if p.get("task") == "send_install_stats")
        check(install == want_install, f"{mid}: send_install_stats differ from AA's own:\n"
                                       f"    got  {install}\n    want {want_install}")
        extensions = [p.get("label") for p in stats if p.get("task") == "send_extension_stats"]
        check(len(extensions) == len(set(extensions)) and EXTENSION_APP in extensions
              and set(extensions) <= aa_extensions and all(p.get("value") == 1 for p in stats
                                                           if p.get("task") == "send_extension_stats"),
              f"{mid}: send_extension_stats {sorted(extensions)}; the admin's app {EXTENSION_APP!r} "
              f"must be one, and each must be one AA reports too: {sorted(aa_extensions)}")

    # -- identity: AA's AnalyticsIdentifier, as AA itself sends it (hex); the AA version --
    check(expected["identifier_hex"] is not None,
          "AA's AnalyticsIdentifier row does not exist: otel-aa neither used nor created it")
    client_ids = {h.body.get("client_id") for h in hits}
    check(client_ids == {expected["identifier_hex"]},
          f"client_id {client_ids}, want AA's identifier.hex {expected['identifier_hex']!r}")
    for hit in hits:
        # AA's own key and shape: the AA team's dashboard reads it.
        props = hit.body.get("user_properties", {})
        check(props.get("allianceauth_version") == {"value": allianceauth.__version__},
              f"user_properties {props}, want allianceauth_version {allianceauth.__version__}")
        consent = hit.body.get("consent", {})
        check(hit.body.get("non_personalized_ads") is True
              or consent.get("ad_personalization") == "DENIED", f"ads personalisation: {hit.body}")

    # -- nothing private, anywhere GA could see it --
    private = _private_values(site, port)
    for hit in collector.requests:
        sent = hit.raw.decode(errors="replace") + repr(hit.headers) + hit.path
        leaked = [what for what, value in private.items() if value in sent]
        check(not leaked, f"{leaked} reached GA: {sent[:1500]}")
        check(hit.query.get("api_secret") in (site.canaries.ga_secret, site.canaries.aa_token_secret),
              "a hit with an unknown api_secret")
    return sorted(set(problems), key=problems.index)


#: Log lines that come from otel-aa or OpenTelemetry (AA's verbose format names the logger;
#: lines logged before Django's logging is set up carry their own prefix).
_OURS = re.compile(r"\[(otel_aa|opentelemetry)[.:\w]*\]|^otel-aa:|Google Analytics exporter:")


def _check_logs(site: AASite, logs: dict[str, str], port: int) -> list[str]:
    """gunicorn and Celery print their bind address, and AA logs user names: the host app's
    lines. otel-aa's and OpenTelemetry's lines must hold none of the canaries, and no line at all
    a secret, a password, the session key, the query string, the User-Agent or the client IP.
    """
    problems: list[str] = []
    private = _private_values(site, port)
    never = {"GA secret", "AA token secret", "admin password", "user password", "session key",
             "query string", "User-Agent", "forwarded IP"}
    for name, text in logs.items():
        for line in text.splitlines():
            ours = _OURS.search(line) is not None
            leaked = [what for what, value in private.items() if value in line and (ours or what in never)]
            if leaked:
                problems.append(f"{leaked} in the {name} log: {line}")
            if ours and re.search(r"\b(ERROR|CRITICAL)\b", line):
                problems.append(f"an error in the {name} log: {line}")
    # Celery logs the failing task's traceback (and nothing else may have one).
    want_tracebacks = {"gunicorn": 0, "worker": 1}
    for name, want in want_tracebacks.items():
        if logs[name].count("Traceback (most recent call last)") != want:
            problems.append(f"{name} log: want {want} traceback(s):\n{logs[name][-3000:]}")
    return problems
