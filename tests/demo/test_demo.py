"""``otel-aa demo``: the newcomer's first command runs and shows; these tests assert what it shows.

Two runs, each in its own process (the demo sets up global OpenTelemetry and Django state): the
console script as the Quick start runs it (what it prints), and ``_drive.py``, which plays the
same scenario and writes what the GA stand-in received (what reached GA). Each token's share is
judged by the exporter's own ``Token.admits``, never by a second copy of its rules.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.exporter.google_analytics._events import GAEvent
from opentelemetry.exporter.google_analytics._tokens import Token, load_tokens
from opentelemetry.exporter.google_analytics.testing import GACollector

from otel_aa._cli import main
from otel_aa.demo import scenario
from otel_aa.demo.play import Out, Played
from otel_aa.demo.report import report, stream_of

OTEL_AA = Path(sys.executable).parent / "otel-aa"
DRIVE = Path(__file__).with_name("_drive.py")
PLACEHOLDER = "https://site.invalid"


def _shell_env() -> dict[str, str]:
    # A shell whose OTEL_* settings must not leak in: the demo sets its own.
    return dict(os.environ, OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_GA_ENDPOINT="http://127.0.0.1:9/mp/collect")


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(OTEL_AA), "demo"], env=_shell_env(), capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def received(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("demo") / "received.json"
    done = subprocess.run([sys.executable, str(DRIVE), str(path)], env=_shell_env(), capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(json.loads(path.read_text(encoding="utf-8")))


# --- what it shows --------------------------------------------------------------------------------


def test_demo_succeeds_and_says_so_last(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert demo.stdout.strip().splitlines()[-1].startswith("RESULT: OK: ")
    assert "Traceback" not in demo.stderr
    # otel_aa.shutdown() ran before the temporary database went: nothing failed at exit.
    assert "ERROR" not in demo.stderr and "failed with" not in demo.stdout + demo.stderr


def test_demo_shows_each_token_with_its_events_and_validation(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    sections = {
        t["name"]: out.split(f"token {t['name']!r}:", 1)[1].split("\ntoken ", 1)[0]
        for t in scenario.DEMO_TOKENS
    }
    assert "=> 1 hit(s): 5 page_views, 0 celery_events, 0 daily_stats" in sections["pages-only"]
    everything = sections["everything"]
    assert f"page_location={PLACEHOLDER}/character/<int:character_id>/" in everything
    assert "task=count_fleet_members" in everything and "value=12" in everything
    assert "result=RosterUnavailableError" in everything
    assert "task=refresh_fleet_motd  result=Success" in everything
    assert "namespace=allianceauth.analytics  task=send_install_stats" in everything
    assert "5 page_views, 3 celery_events, 5 daily_stats" in everything
    no_fleet = sections["no-fleet-pages"]
    assert "site.invalid/fleet/" not in no_fleet and f"page_location={PLACEHOLDER}/  " in no_fleet
    assert "task=count_fleet_members" not in no_fleet
    assert "ignore_paths: ^/fleet/, ^/healthz/" in no_fleet
    # Every hit's validation result is shown.
    assert out.count(": valid") >= 5 and "INVALID" not in out


def test_demo_shows_what_the_allowlist_removed(demo: subprocess.CompletedProcess[str]) -> None:
    allowlist = demo.stdout.split("Privacy allowlist", 1)[1]
    server = allowlist.split("SERVER spans", 1)[1].split("\n  ", 3)
    assert "dropped:" in server[1] and ("http.url" in server[1] or "url.full" in server[1])
    assert "CONSUMER spans" in allowlist and "span events dropped: exception" in allowlist


def test_demo_output_holds_no_private_value(demo: subprocess.CompletedProcess[str]) -> None:
    text = demo.stdout + demo.stderr
    # The session key is the run's own; every other planted value is known in advance.
    planted = {k: v for k, v in scenario.canaries("").items() if v}
    assert len(planted) >= 15
    found = [where for where, value in planted.items() if value.lower() in text.lower()]
    assert found == []


# --- what reached GA ------------------------------------------------------------------------------


def _tokens(monkeypatch: pytest.MonkeyPatch) -> dict[str, Token]:
    for name in list(os.environ):
        if name.startswith("OTEL_EXPORTER_GA_"):
            monkeypatch.delenv(name)
    tokens = load_tokens(list(scenario.DEMO_TOKENS), ignore_paths=scenario.IGNORE_PATHS)
    assert len(tokens) == len(scenario.DEMO_TOKENS)
    return {t.measurement_id: t for t in tokens}


def _event(stream: Any, route: str | None = None, aggregate: bool | None = None) -> GAEvent:
    return GAEvent("probe", {}, 0, stream, route=route, aggregate=aggregate)


def _events_of(received: dict[str, Any], measurement_id: str) -> list[dict[str, Any]]:
    return [e for r in received["requests"] if r["query"].get("measurement_id") == measurement_id
            for e in r["body"]["events"]]


def test_every_token_got_what_its_flags_admit(received: dict[str, Any],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = _tokens(monkeypatch)
    assert received["flushed"] and received["problems"] == []
    for measurement_id, token in tokens.items():
        events = _events_of(received, measurement_id)
        pages = sorted(e["params"]["page_location"] for e in events if stream_of(e) == "page_views")
        admitted = [r.route for r in scenario.REQUESTS
                    if r.counts and token.admits(_event("page_views", r.route))]
        assert pages == sorted(PLACEHOLDER + route for route in admitted), token.name
        tasks = {(e["params"]["task"], e["params"]["result"], e["params"]["value"])
                 for e in events if stream_of(e) == "celery_events"}
        if token.admits(_event("celery_events", aggregate=False)):
            assert tasks == {("count_fleet_members", "Success", 12),
                             ("sync_corporation_roster", "RosterUnavailableError", 1),
                             ("refresh_fleet_motd", "Success", 1)}, token.name
            assert len(tasks) == scenario.TASK_EVENTS
        else:
            assert tasks == set(), token.name
        stats = {e["params"]["label"] for e in events if stream_of(e) == "daily_stats"}
        if token.admits(_event("daily_stats")):
            assert {"existence", "users", "addons", "demo_fleet"} <= stats, token.name
        else:
            assert stats == set(), token.name
    # The scenario tells the flags apart: each token got a different share.
    assert len({len(_events_of(received, m)) for m in tokens}) == len(tokens)


def test_only_the_demo_tokens_were_sent_to_and_every_hit_was_valid(
        received: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = _tokens(monkeypatch)
    assert received["requests"]
    for request in received["requests"]:
        assert request["path"] == "/mp/collect" and request["status"] == 204
        assert set(request["query"]) == {"measurement_id", "api_secret"}
        token = tokens[request["query"]["measurement_id"]]
        assert request["query"]["api_secret"] == token.api_secret
        assert request["validation"] == []


def _found(canaries: dict[str, str], bodies: list[str]) -> list[str]:
    lowered = [b.lower() for b in bodies]
    return [where for where, value in canaries.items() if value and any(value.lower() in b for b in lowered)]


def test_no_private_value_reached_ga(received: dict[str, Any]) -> None:
    canaries = scenario.canaries(received["session_key"])
    assert canaries["session id"] and len(canaries) >= 18
    bodies = [r["raw"] for r in received["requests"]]
    assert len(bodies) >= 5
    assert _found(canaries, bodies) == []


def test_the_canary_search_finds_a_planted_value() -> None:
    # The search above must be able to fail: a body holding a canary, in any case, is caught.
    canaries = scenario.canaries("sessionkey123")
    body = json.dumps({"events": [{"name": "page_view", "params": {"page_title": "Hi CANARY.PILOT"}}]})
    assert _found(canaries, [body]) == ["user name"]
    assert _found(canaries, ['{"x": "sessionkey123"}']) == ["session id"]


# --- the report's own verdict ---------------------------------------------------------------------


@pytest.fixture
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


def _post(ga: GACollector, token: dict[str, object], body: object) -> None:
    params = {"measurement_id": token["measurement_id"], "api_secret": token["api_secret"]}
    response = requests.post(ga.endpoint, params=params, json=body, timeout=5)
    assert response.status_code == 204


def test_report_fails_on_an_invalid_hit(ga: GACollector) -> None:
    token = scenario.DEMO_TOKENS[0]
    good = {"client_id": "1.2",
            "events": [{"name": "page_view", "params": {"page_location": PLACEHOLDER + "/"}}]}
    bad = {"client_id": "1.2", "events": [{"name": "page_view", "params": {"page_title": "t" * 101}}]}
    _post(ga, token, good)
    _post(ga, token, bad)
    stream = io.StringIO()
    problems = report(Out(stream), Played(ga, [], "", True))
    text = stream.getvalue()
    assert "hit 1: 1 events" in text and "hit 2: 1 events" in text
    assert "INVALID (1 messages)" in text
    assert "! events[0].params.page_title: " in text and "(VALUE_INVALID)" in text
    assert "1 invalid hit(s)" in " ".join(problems)
    assert text.strip().splitlines()[-1].startswith("RESULT: FAILED")


def test_report_fails_when_nothing_arrived_or_a_flush_timed_out(ga: GACollector) -> None:
    stream = io.StringIO()
    problems = report(Out(stream), Played(ga, [], "", False))
    assert "no hit arrived" in problems and "a flush timed out" in problems
    assert "RESULT: FAILED" in stream.getvalue()


def test_cli_needs_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "demo" in capsys.readouterr().err
