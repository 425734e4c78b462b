"""The admin in a real browser: Debian's chromium, driven by Playwright, against the test project
with Django's admin and Alliance Auth's analytics app under gunicorn and a Celery worker, both
zero-code, sending to a GACollector on 127.0.0.1.

An admin logs in, switches page views and then Celery events on for AA's pre-loaded team token,
and the next hits change: in the collector, and on the "what left this server" page. Users who
aren't staff, or lack the permission, are refused. Each step is printed (``pytest -s``).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.exporter.google_analytics.testing import GACollector

from otel_aa._admin_tokens import AA_TEAM_MEASUREMENT_ID

from .conftest import BIN, USERS, free_port, seed_site, site_env, start, wait_listening

pytest.importorskip("allianceauth")

MAIN = {"name": "main", "measurement_id": "G-MAIN0001", "api_secret": "settings-secret-q7zx-0001"}
TEAM_SECRET = "KLlpjLZ-SRGozS5f5wb_kw"  # AA's migration ships it; the pages must never show it
WAIT = 60


def _step(text: str) -> None:
    print(f"[browser] {text}", flush=True)


def _locations(ga: GACollector, measurement_id: str) -> list[str]:
    return [str(e["params"].get("page_location", "")) for e in ga.events("page_view", measurement_id)]


def _login(context: Any, base: str, user: str) -> Any:
    page = context.new_page()
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", user)
    page.fill("#id_password", USERS[user])
    page.click("input[type=submit]")
    page.wait_for_load_state()
    return page


def _page_view_round(ga: GACollector, base: str, path: str, route: str) -> None:
    """GET ``path``, then a marker page: once the marker reached the settings token, every send
    of ``path``'s export (to every token) is done (one gunicorn worker, exports in order)."""
    main = MAIN["measurement_id"]
    before = len(_locations(ga, main))
    assert requests.get(f"{base}{path}", timeout=30).status_code == 200
    assert ga.wait_for(lambda c: any(loc.endswith(route) for loc in _locations(c, main)[before:]), WAIT)
    before = len(_locations(ga, main))
    requests.get(f"{base}/corp/canary/members/", timeout=30)
    assert ga.wait_for(lambda c: len(_locations(c, MAIN["measurement_id"])) > before, WAIT)


def _task_round(ga: GACollector, app: Any, queue: str) -> None:
    """Run a task, then a marker task (one worker thread, exports in order)."""
    for _ in range(2):
        before = len(ga.events("celery_event", MAIN["measurement_id"]))
        app.send_task("_site.tasks.count_users", queue=queue)
        assert ga.wait_for(lambda c, n=before: len(c.events("celery_event", MAIN["measurement_id"])) > n,
                           WAIT)


@pytest.mark.slow
def test_switch_a_flag_in_the_admin_and_watch_the_next_hits_change(
        browser: Any, redis_server: Any, tmp_path: Path, processes: list[Any]) -> None:
    from celery import Celery

    queue = f"q-{uuid.uuid4().hex[:8]}"
    with GACollector() as ga:
        env = site_env(redis_server, tmp_path / "site.sqlite3",
                       OTEL_PYTHON_CONFIGURATOR="otel_aa", OTEL_PYTHON_DISTRO="otel_aa",
                       OTEL_TRACES_EXPORTER="ga", OTEL_METRICS_EXPORTER="none",
                       OTEL_EXPORTER_GA_ENDPOINT=ga.endpoint, OTEL_EXPORTER_GA_TOKENS=json.dumps([MAIN]),
                       OTEL_EXPORTER_GA_VALIDATE="false", OTEL_BSP_SCHEDULE_DELAY="200",
                       OTEL_AA_TEST_QUEUE=queue)
        _step("migrate the site (AA's migration pre-loads the team token) and create boss, clerk, pilot")
        seed_site(env)
        port = free_port()
        web = start(processes, [str(BIN / "opentelemetry-instrument"), str(BIN / "gunicorn"), "-w", "1",
                                "-b", f"127.0.0.1:{port}", "--graceful-timeout", "20", "_site.wsgi"],
                    env, tmp_path / "gunicorn.log")
        worker = start(processes, [str(BIN / "opentelemetry-instrument"), str(BIN / "celery"), "-A",
                                   "_site", "worker", "--pool=threads", "--concurrency=1",
                                   "--without-gossip", "--without-mingle", "--without-heartbeat",
                                   "-Q", queue, "-n", f"admin-{queue}@%h", "--loglevel=INFO"],
                       env, tmp_path / "celery.log")
        wait_listening(web, port)
        base = f"http://127.0.0.1:{port}"
        _step(f"gunicorn (1 worker) on {base} and a Celery worker (threads), both zero-code")
        app = Celery("admin_client", broker=redis_server.url)
        app.conf.broker_transport_options = {"global_keyprefix": redis_server.prefix + "celery:"}
        app.conf.task_ignore_result = True
        try:
            _run(browser, ga, base, app, queue, _site_ledger(redis_server))
        except AssertionError as exc:
            logs = "\n".join(f"--- {p.log.name}:\n{p.stop()[-3000:]}" for p in (web, worker))
            raise AssertionError(f"{exc}\n{logs}") from exc
        finally:
            app.close()
        for proc in (web, worker):
            assert TEAM_SECRET not in proc.stop() and MAIN["api_secret"] not in proc.log.read_text()


def _site_ledger(redis_server: Any) -> Any:
    """The site's record of what left, read from the test: the same Redis keys its processes write."""
    from django.core.cache.backends.redis import RedisCache

    from otel_aa._ledger import CacheLedger

    return CacheLedger(cache=RedisCache(redis_server.url, {"KEY_PREFIX": redis_server.prefix + "cache"}))


def _recorded(ledger: Any, measurement_id: str, event: str) -> int:
    for record in ledger.snapshot()["tokens"].values():
        if record["measurement_id"] == measurement_id and event in record["counts"]:
            return int(record["counts"][event]["total"])
    return 0


def _run(browser: Any, ga: GACollector, base: str, app: Any, queue: str, ledger: Any) -> None:
    team = AA_TEAM_MEASUREMENT_ID

    _step("pilot (not staff) logs in to the admin: refused")
    pilot = browser.new_context()
    page = _login(pilot, base, "pilot")
    assert "/admin/login/" in page.url
    assert "staff account" in page.inner_text(".errornote")
    page = pilot.new_page()
    page.goto(f"{base}/admin/otel_aa/deliveries/")
    assert "/admin/login/" in page.url and "What left" not in page.content()
    pilot.close()

    _step("clerk (staff, no view_deliveries permission) opens the what-left page: 403")
    clerk = browser.new_context()
    page = _login(clerk, base, "clerk")
    response = page.goto(f"{base}/admin/otel_aa/deliveries/")
    assert response is not None and response.status == 403
    clerk.close()

    _step("before any switch: a page view and a task go to the settings token only")
    _page_view_round(ga, base, "/", "/")
    _task_round(ga, app, queue)
    assert _locations(ga, team) == [] and ga.events("celery_event", team) == []

    context = browser.new_context()
    page = _login(context, base, "boss")
    _step("boss logs in; the token list shows the settings token read-only, with where it is set")
    page.goto(f"{base}/admin/analytics/analyticstokens/")
    listed = page.inner_text("#otel-settings-tokens")
    assert "G-MAIN0001" in listed and "OTEL_EXPORTER_GA_TOKENS (environment variable)" in listed
    assert "se…(25 chars)" in listed
    assert MAIN["api_secret"] not in page.content()

    _step("boss opens AA's pre-loaded team token: the page says page views and Celery events are off")
    page.click("text=AA Team Public Google Analytics (V4)")
    page.wait_for_load_state()
    assert "/admin/analytics/analyticstokens/" in page.url and page.url.endswith("/change/")
    note = page.inner_text(".otel-token-note")
    assert "pre-loaded" in note and "only if you tick those boxes" in note
    assert not page.is_checked("#id_otel_page_views") and not page.is_checked("#id_otel_celery_events")

    _step("boss ticks Page views, ignores the admin's pages (routes /<admin>/...), saves")
    page.check("#id_otel_page_views")
    page.fill("#id_otel_ignore_paths", "^/<admin>/")
    page.click("input[name=_save]")
    page.wait_for_load_state()
    assert "was changed successfully" in page.inner_text("ul.messagelist")

    _step("the next page view reaches the team token; admin pages (ignored) and tasks still don't")
    page.goto(f"{base}/admin/")  # an admin page view: to the settings token, not the team's
    _page_view_round(ga, base, "/character/7/", "/character/<int:character_id>/")
    routes = {loc.split("/", 3)[3] for loc in _locations(ga, team)}
    # The marker's own send to the team token may still be under way: it comes after the settings one.
    assert "character/<int:character_id>/" in routes <= {"character/<int:character_id>/",
                                                          "corp/<slug:corp>/members/"}
    assert any("<admin>" in loc for loc in _locations(ga, MAIN["measurement_id"]))
    _task_round(ga, app, queue)
    assert ga.events("celery_event", team) == []

    _step("boss ticks Celery events; the Celery worker (another process) follows without a restart")
    page.goto(f"{base}/admin/analytics/analyticstokens/")
    page.click("text=AA Team Public Google Analytics (V4)")
    page.wait_for_load_state()
    assert page.is_checked("#id_otel_page_views")
    page.check("#id_otel_celery_events")
    page.click("input[name=_save]")
    page.wait_for_load_state()
    app.send_task("_site.tasks.count_users", queue=queue)
    assert ga.wait_for(lambda c: len(c.events("celery_event", team)) >= 1, WAIT)

    _step("the what-left page shows the team token's last hits as sent, counts and health")
    # Each process records after GA answered: wait for the record (gunicorn's and the worker's).
    assert ga.wait_for(lambda c: _recorded(ledger, team, "celery_event") >= 1 and
                       _recorded(ledger, team, "page_view") == len(_locations(c, team)), WAIT)
    page.goto(f"{base}/admin/otel_aa/deliveries/")
    section = page.locator(f".otel-token[data-measurement-id='{team}']")
    text = section.inner_text()
    assert "Page views: on" in text and "Celery events: on" in text
    assert int(section.locator("tr[data-event='page_view'] .otel-count").inner_text()) == \
        len(_locations(ga, team))
    assert int(section.locator("tr[data-event='celery_event'] .otel-count").inner_text()) >= 1
    assert "never" not in section.locator(".otel-last-success").inner_text()
    bodies = [json.loads(b) for b in section.locator(".otel-body").all_text_contents()]
    sent = [hit.body for hit in ga.hits if hit.query.get("measurement_id") == team]
    assert bodies and all(b in sent for b in bodies)
    html = page.content()
    assert TEAM_SECRET not in html and MAIN["api_secret"] not in html and "KL…(22 chars)" in html
    assert "ga.event.name" in page.inner_text("#otel-allowlist")
    _step(f"done: {len(_locations(ga, team))} page views and {len(ga.events('celery_event', team))} "
          "Celery events reached the team token after the switches, none before")
    context.close()
