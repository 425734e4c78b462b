"""``otel-aa demo``: the newcomer's first command runs, reports, and fails when it should."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from opentelemetry.exporter.google_analytics.testing import GACollector

from otel_aa.cli import main
from otel_aa.demo import runner

OTEL_AA = Path(sys.executable).parent / "otel-aa"


@pytest.fixture(scope="module")
def demo() -> subprocess.CompletedProcess[str]:
    # As the Quick start runs it: the console script, in a shell whose OTEL_* settings must not leak in.
    env = dict(
        os.environ, OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_GA_ENDPOINT="http://127.0.0.1:9/mp/collect"
    )
    return subprocess.run(
        [str(OTEL_AA), "demo"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_demo_succeeds_and_says_so(demo: subprocess.CompletedProcess[str]) -> None:
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "RESULT: OK" in demo.stdout
    assert "Traceback" not in demo.stderr
    # otel_aa.shutdown() ran before the temporary database went: nothing failed at exit.
    assert "ERROR" not in demo.stderr and "failed with" not in demo.stdout + demo.stderr


def test_demo_reports_each_token_with_what_its_flags_admit(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    sections = {
        t["name"]: out.split(f"token {t['name']!r}:", 1)[1].split("\ntoken ", 1)[0]
        for t in runner.DEMO_TOKENS
    }
    assert "=> " in sections["pages-only"] and "5 page_views, 0 celery_events, 0 daily_stats" in out
    everything = sections["everything"]
    assert "page_location=https://site.invalid/character/<int:character_id>/" in everything
    assert "task=count_fleet_members" in everything and "value=12" in everything
    assert "result=RosterUnavailableError" in everything
    assert "task=refresh_fleet_motd  result=Success" in everything
    assert "namespace=allianceauth.analytics  task=send_install_stats" in everything
    no_fleet = sections["no-fleet-pages"]
    assert (
        "site.invalid/fleet/" not in no_fleet
        and "page_location=https://site.invalid/  " in no_fleet
        and "task=count_fleet_members" not in no_fleet
    )
    assert "(as expected" in no_fleet and "NOT as expected" not in out
    # Every hit's validation result is shown.
    assert out.count(": valid") >= 3 and "INVALID" not in out


def test_demo_shows_what_the_allowlist_removed(demo: subprocess.CompletedProcess[str]) -> None:
    out = demo.stdout
    allowlist = out.split("Privacy allowlist", 1)[1]
    server = allowlist.split("SERVER spans", 1)[1].split("\n  ", 3)
    assert "dropped:" in server[1] and ("http.url" in server[1] or "url.full" in server[1])
    assert "CONSUMER spans" in allowlist and "span events dropped: exception" in allowlist
    assert "none found." in out


def test_demo_output_holds_no_private_value(demo: subprocess.CompletedProcess[str]) -> None:
    text = demo.stdout + demo.stderr
    for value in (
        "canary.pilot",
        "203.0.113.77",
        "198.51.100.23",
        "canary-query-value",
        "CNRY",
        "90000001",
        "canary-fleet-key",
        "Canary Pilot",
        "auth.canary-corp.example",
        "canary-cookie-value",
    ):
        assert value not in text, value
    for token in runner.DEMO_TOKENS:
        assert token["api_secret"] not in text


@pytest.fixture
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


def _post(ga: GACollector, token: dict[str, object], body: object) -> None:
    params = {"measurement_id": token["measurement_id"], "api_secret": token["api_secret"]}
    response = requests.post(ga.endpoint, params=params, json=body, timeout=5)
    assert response.status_code == 204


def test_report_fails_on_an_invalid_hit(ga: GACollector) -> None:
    token = runner.DEMO_TOKENS[0]
    good = {
        "client_id": "1.2",
        "events": [{"name": "page_view", "params": {"page_location": "https://site.invalid/"}}],
    }
    bad = {"client_id": "1.2", "events": [{"name": "page_view", "params": {"page_title": "t" * 101}}]}
    _post(ga, token, good)
    _post(ga, token, bad)
    stream = io.StringIO()
    result = runner._report(runner._Out(stream, False), ga, runner._Capture(), {}, True)
    text = stream.getvalue()
    assert "hit 1: 1 events" in text and "hit 2: 1 events" in text
    assert "INVALID (1 messages)" in text
    assert "! events[0].params.page_title: " in text and "(VALUE_INVALID)" in text
    assert "1 invalid hit(s)" in " ".join(result.problems)
    assert "RESULT: FAILED" in text


def test_report_fails_when_nothing_arrived(ga: GACollector) -> None:
    stream = io.StringIO()
    result = runner._report(runner._Out(stream, False), ga, runner._Capture(), {}, True)
    assert "no hit arrived" in result.problems
    assert "RESULT: FAILED" in stream.getvalue()


def test_report_fails_when_a_canary_reaches_ga(ga: GACollector) -> None:
    token = runner.DEMO_TOKENS[1]
    body = {
        "client_id": "1.2",
        "events": [{"name": "page_view", "params": {"page_title": "Hi canary.pilot"}}],
    }
    _post(ga, token, body)
    stream = io.StringIO()
    result = runner._report(
        runner._Out(stream, False), ga, runner._Capture(), {"user name": "canary.pilot"}, True
    )
    assert any("private values reached GA: user name" in p for p in result.problems)
    assert "FOUND: user name" in stream.getvalue()


def test_cli_needs_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2
    assert "demo" in capsys.readouterr().err
