"""A live gunicorn (2 forked sync workers) started zero-code, GA and OTLP on loopback.

Canary values are planted in every place the privacy invariant names, under each HTTP semantic
convention mode; none may reach a GA payload or a log line, while OTLP gets the full spans.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from .conftest import otel_env

pytestmark = pytest.mark.slow

CANARIES = {
    "client_ip": "203.0.113.77",
    "forwarded_ip": "198.51.100.23",
    "user": "canaryuser-zq7xk",
    "email": "canary.zq7xk@example.org",
    "cookie": "canarycookie-zq7xk",
    "session": "canarysession-zq7xk",
    "query": "canaryquery-zq7xk",
    "path_id": "424242424242",
    "host": "canary-host-zq7xk.example",
    "user_agent": "CanaryAgent-zq7xk/1.0",
    "secret": "canarysecret-zq7xk",
    "exception": "canaryexception-zq7xk",
    "service": "canary-service-zq7xk",
}

# Loggers of the host frameworks that log request details by their own design (Django's
# "Internal Server Error: /path" with the traceback, gunicorn's own lines). otel-aa's and
# OpenTelemetry's lines, and everything else, are checked.
HOST_LOGGERS = ("django.request", "django.server", "gunicorn.")


def _headers(**extra: str) -> dict[str, str]:
    headers = {
        "Host": CANARIES["host"],
        "User-Agent": CANARIES["user_agent"],
        "X-Forwarded-For": CANARIES["forwarded_ip"],
        "X-Real-IP": CANARIES["client_ip"],
        "Cookie": f"sessionid={CANARIES['session']}; tracking={CANARIES['cookie']}",
        "X-Test-User": CANARIES["user"],
        "X-Test-Email": CANARIES["email"],
        "Accept-Language": "de-DE,de;q=0.9,en;q=0.5",
    }
    headers.update(extra)
    return headers


_LEVELS = ("DEBUG ", "INFO ", "WARNING ", "ERROR ", "CRITICAL ")


def _checked_lines(log: str, host_loggers: tuple[str, ...] = HOST_LOGGERS) -> list[str]:
    """Every log record (with its continuation lines) except those of :data:`HOST_LOGGERS`."""
    records: list[tuple[str, list[str]]] = []
    for line in log.splitlines():
        if line.startswith(_LEVELS):
            records.append((line.split(" ", 2)[1], [line]))
        elif line.startswith("[") and "[gunicorn" not in line and "] [" in line:
            records.append(("gunicorn.", [line]))  # gunicorn's own "[date] [pid] [LEVEL]" lines
        elif records:
            records[-1][1].append(line)
        else:
            records.append(("", [line]))
    return [line for logger, lines in records if not logger.startswith(host_loggers) for line in lines]


def _assert_no_canary(text: str, where: str) -> None:
    lowered = text.lower()
    leaked = {name: value for name, value in CANARIES.items() if value.lower() in lowered}
    assert not leaked, f"canaries {sorted(leaked)} reached {where}"


@pytest.mark.parametrize("semconv", [None, "http", "http/dup"], ids=["default", "http", "http-dup"])
def test_canaries_never_reach_ga_or_logs_and_otlp_gets_full_spans(
        gunicorn, ga, otlp, redis_server, site_db, semconv):
    proc, base = gunicorn(otel_env(redis_server, site_db, ga, otlp, semconv=semconv))
    query = {"q": CANARIES["query"], "email": CANARIES["email"]}
    session = requests.Session()
    r = session.get(f"{base}/character/{CANARIES['path_id']}/", params=query, headers=_headers(), timeout=10)
    assert (r.status_code == 200 and CANARIES["user"] in r.text) or CANARIES["query"] in r.text
    r = session.get(f"{base}/boom/", params={"msg": CANARIES["exception"]}, headers=_headers(), timeout=10)
    assert r.status_code == 500
    r = session.get(f"{base}/", headers=_headers(), timeout=10)
    assert r.status_code == 200
    log = proc.stop()  # graceful: each worker flushes at exit

    assert ga.wait_for(lambda c: len(c.events("page_view")) >= 4, timeout=20), log[-3000:]
    views = ga.events("page_view", measurement_id="G-MAIN0001")
    locations = sorted(e["params"]["page_location"] for e in views)
    assert len(views) == 2, views
    assert any(loc.endswith("/character/<int:character_id>/") for loc in locations), locations
    titles = {e["params"].get("page_title") for e in views}
    # A page about one object sends its view's name, never its HTML title (which names the user).
    assert "character" in titles, titles
    assert {e["params"].get("language") for e in views} == {"de"}  # a code of settings.LANGUAGES
    for hit in ga.requests:
        _assert_no_canary(hit.raw.decode("utf-8", "replace"), "a GA payload")
        _assert_no_canary(json.dumps(hit.headers), "a GA request header")
    assert not ga.invalid

    assert otlp.wait_for(lambda o: len([s for s in o.spans if s.kind == 2]) >= 3, timeout=20), log[-3000:]
    server = [s for s in otlp.spans if s.kind == 2]  # SPAN_KIND_SERVER
    full = json.dumps([s.attributes for s in server])
    assert CANARIES["query"] in full, "OTLP should get the full span, query string included"
    assert CANARIES["user_agent"] in full
    assert any(s.resource.get("service.name") == CANARIES["service"] for s in server)
    assert any(CANARIES["exception"] in s.status_message for s in server)

    _assert_no_canary("\n".join(_checked_lines(log)), "a log line")
    # The capture worked: DEBUG records of the libraries are in it, Django's 500 report too.
    assert re.search(r"^DEBUG urllib3", log, re.MULTILINE) and "ERROR django.request" in log


def test_page_view_rules_live(gunicorn, ga, redis_server, site_db):
    proc, base = gunicorn(otel_env(redis_server, site_db, ga))
    get = lambda path, **kw: requests.get(base + path, headers=_headers(), timeout=10, **kw)  # noqa: E731
    assert get("/").status_code == 200
    assert get("/corp/goons/members/").status_code == 200
    assert get("/article/31337/").status_code == 200
    assert get("/ignored/").status_code == 200
    assert get("/api/").status_code == 200
    assert get("/redirect/", allow_redirects=False).status_code == 302
    assert get("/nope/").status_code == 404
    assert get("/static/site.css").status_code == 200
    assert get("/healthz/").status_code == 200
    assert get("/streaming/").status_code == 200
    assert requests.post(base + "/", headers=_headers(), timeout=10).status_code in (200, 403, 405)
    proc.stop()

    assert ga.wait_for(lambda c: len(c.events("page_view", "G-MAIN0001")) >= 5, timeout=20)
    main = sorted(e["params"]["page_location"].split("/", 3)[-1]
                  for e in ga.events("page_view", "G-MAIN0001"))
    assert main == ["", "article/<article_id>/", "corp/<slug:corp>/members/", "ignored/", "streaming/"], main
    picky = sorted(e["params"]["page_location"].split("/", 3)[-1]
                   for e in ga.events("page_view", "G-PICKY002"))
    assert picky == ["", "article/<article_id>/", "corp/<slug:corp>/members/", "streaming/"], picky
    titles = {e["params"]["page_location"].split("/", 3)[-1]: e["params"].get("page_title")
              for e in ga.events("page_view", "G-MAIN0001")}
    assert titles[""] == "home"  # the view name, not the HTML title
    assert titles["streaming/"] == "streaming"  # the view name: the stream itself is not read


@pytest.mark.parametrize("traceparent", [
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",   # sampled flag off
    "00-zzzz-not-a-traceparent-01",                               # malformed
], ids=["unsampled", "malformed"])
def test_traceparent_cannot_switch_page_views_off(gunicorn, ga, otlp, redis_server, site_db, traceparent):
    env = otel_env(redis_server, site_db, ga, otlp, extra={
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "0"})
    proc, base = gunicorn(env)
    for _ in range(3):
        r = requests.get(base + "/", headers=_headers(traceparent=traceparent), timeout=10)
        assert r.status_code == 200
    proc.stop()
    assert ga.wait_for(lambda c: len(c.events("page_view", "G-MAIN0001")) >= 3, timeout=20)
    assert len(ga.events("page_view", "G-MAIN0001")) == 3
    # The ratio-0 sampler still decides for OTLP: nothing sampled, nothing sent there.
    assert not [s for s in otlp.spans if s.kind == 2]


def test_code_start_configure_in_wsgi(gunicorn, ga, redis_server, site_db):
    env = otel_env(redis_server, site_db, ga)
    for name in ("OTEL_PYTHON_CONFIGURATOR", "OTEL_PYTHON_DISTRO", "OTEL_TRACES_EXPORTER"):
        env.pop(name)
    env["OTEL_AA_TEST_CODE_START"] = "1"
    proc, base = gunicorn(env, zero_code=False)
    assert requests.get(base + "/character/5/", headers=_headers(), timeout=10).status_code == 200
    log = proc.stop()
    assert ga.wait_for(lambda c: len(c.events("page_view", "G-MAIN0001")) >= 1, timeout=20), log[-3000:]
    assert ga.events("page_view", "G-MAIN0001")[0]["params"]["page_location"].endswith(
        "/character/<int:character_id>/")


def test_otlp_allowlist_setting_reduces_otlp_spans_too(gunicorn, ga, otlp, redis_server, site_db):
    env = otel_env(redis_server, site_db, ga, otlp, extra={"OTEL_AA_OTLP_ALLOWLIST": "true"})
    proc, base = gunicorn(env)
    r = requests.get(f"{base}/character/{CANARIES['path_id']}/", params={"q": CANARIES["query"]},
                     headers=_headers(), timeout=10)
    assert r.status_code == 200
    log = proc.stop()
    assert otlp.wait_for(lambda o: any(s.kind == 2 for s in o.spans), timeout=20), log[-3000:]
    server = [s for s in otlp.spans if s.kind == 2]
    assert server[0].attributes["http.route"] == "/character/<int:character_id>/"
    for body in otlp.raw:
        _assert_no_canary(body.decode("utf-8", "replace"), "an allowlisted OTLP export")
    assert ga.wait_for(lambda c: len(c.events("page_view", "G-MAIN0001")) >= 1, timeout=20)


def test_each_forked_worker_exports(gunicorn, ga, redis_server, site_db):
    from concurrent.futures import ThreadPoolExecutor

    import redis

    proc, base = gunicorn(otel_env(redis_server, site_db, ga))
    client = redis.Redis.from_url(redis_server.url)
    arrived, release = redis_server.prefix + "hold:arrived", redis_server.prefix + "hold:release"
    try:
        with ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(requests.get, base + "/hold/", headers=_headers(), timeout=30)
                       for _ in range(2)]
            # Both requests held at once: two sync workers, two processes.
            pids = [client.blpop([arrived], timeout=20) for _ in range(2)]
            client.rpush(release, "go", "go")
            assert all(f.result().status_code == 200 for f in futures)
    finally:
        client.delete(arrived, release)
        client.close()
    assert None not in pids and len({p[1] for p in pids}) == 2, pids
    log = proc.stop()
    assert ga.wait_for(lambda c: len(c.events("page_view", "G-MAIN0001")) >= 2, timeout=20), log[-3000:]
    assert len(ga.events("page_view", "G-MAIN0001")) == 2


def test_analytics_disabled_sends_nothing(gunicorn, ga, otlp, redis_server, site_db):
    env = otel_env(redis_server, site_db, ga, otlp, extra={"ANALYTICS_DISABLED": "true"})
    proc, base = gunicorn(env)
    assert requests.get(base + "/", headers=_headers(), timeout=10).status_code == 200
    log = proc.stop()
    assert otlp.wait_for(lambda o: any(s.kind == 2 for s in o.spans), timeout=20)  # OTLP unaffected
    assert ga.requests == []
    assert log.count("ANALYTICS_DISABLED is set") >= 1


def test_daily_stats_once_per_install_and_otlp_metrics(gunicorn, ga, otlp, redis_server, site_db):
    env = otel_env(redis_server, site_db, ga, otlp, extra={"OTEL_METRICS_EXPORTER": "ga,otlp",
                                                           "OTEL_METRIC_EXPORT_INTERVAL": "500"})
    proc, base = gunicorn(env)
    assert requests.get(base + "/", headers=_headers(), timeout=10).status_code == 200
    assert otlp.wait_for(lambda o: any(n.startswith("http.server") for n in o.metric_names), timeout=20)
    log = proc.stop()  # master and both workers flush their readers; the lease lets one send
    stats = lambda c: [e for e in c.events("celery_event", "G-MAIN0001")  # noqa: E731
                       if e["params"]["namespace"] == "allianceauth.analytics"]
    assert ga.wait_for(lambda c: len(stats(c)) >= 1, timeout=20), log[-4000:]
    labels = [e["params"]["label"] for e in stats(ga) if e["params"]["task"] == "send_install_stats"]
    assert labels.count("existence") == 1, labels
    # Every hit, from whichever process, carries the install's one stored client_id.
    assert {h.body["client_id"] for h in ga.hits} == {_install_identity(site_db)}


def _install_identity(db) -> str:
    import sqlite3
    import uuid

    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT identifier FROM otel_aa_installidentity").fetchall()
    assert len(rows) == 1, rows
    return uuid.UUID(rows[0][0]).hex
