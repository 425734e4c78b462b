"""``manage.py otel_aa_validate`` against the loopback GA server's validation endpoint.

The command runs as admins run it, in its own process (the demo site's settings, a migrated
SQLite database); the GA stand-in runs here and answers ``/debug/mp/collect`` in Google's format.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.google_analytics.testing import GACollector

TOKENS = [
    {"name": "site", "measurement_id": "G-VALIDATE01", "api_secret": "validate-secret-one-9f2k"},
    {
        "name": "pages",
        "measurement_id": "G-VALIDATE02",
        "api_secret": "validate-secret-two-4m7q",
        "celery_events": False,
        "daily_stats": False,
    },
]


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_") and k != "ANALYTICS_DISABLED"}
    env.update(DJANGO_SETTINGS_MODULE="otel_aa.demo.settings", OTEL_AA_DEMO_DIR=str(tmp), **extra)
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("validate-site")
    result = _manage(_env(tmp), "migrate", "--verbosity=0")
    assert result.returncode == 0, result.stderr
    return tmp


@pytest.fixture
def ga() -> Iterator[GACollector]:
    with GACollector() as collector:
        yield collector


def _validate(
    site: Path, ga: GACollector, *args: str, tokens: list[dict[str, object]] | None = None
) -> subprocess.CompletedProcess[str]:
    env = _env(
        site,
        OTEL_EXPORTER_GA_ENDPOINT=ga.endpoint,
        OTEL_EXPORTER_GA_TOKENS=json.dumps(TOKENS if tokens is None else tokens),
    )
    return _manage(env, "otel_aa_validate", *args)


def test_sample_hits_of_every_token_are_valid(site: Path, ga: GACollector) -> None:
    result = _validate(site, ga)
    assert result.returncode == 0, result.stdout + result.stderr
    # Three samples per token, all on the validation endpoint, none on the collecting one.
    assert len(ga.debug_hits) == 6 and not ga.hits
    by_token: dict[str, list[str]] = {}
    for hit in ga.debug_hits:
        assert hit.validation == []
        by_token.setdefault(hit.query["measurement_id"], []).extend(e["name"] for e in hit.events)
    for names in by_token.values():
        assert names.count("page_view") == 1
        assert names.count("celery_event") >= 3  # the task sample and the daily stats
    stats = [
        e for h in ga.debug_hits for e in h.events if e["params"].get("namespace") == "allianceauth.analytics"
    ]
    assert {e["params"]["label"] for e in stats} >= {"existence", "users", "addons"}
    # Every token named, its secret masked, never printed whole.
    for token in TOKENS:
        assert f"Token {token['name']!r} ({token['measurement_id']}" in result.stdout
        assert str(token["api_secret"]) not in result.stdout + result.stderr
    assert "va…(24 chars)" in result.stdout
    assert "this token's flag is off" in result.stdout  # 'pages' doesn't send task events
    assert "All hits valid." in result.stdout


def test_a_bad_payload_prints_the_validation_messages(site: Path, ga: GACollector, tmp_path: Path) -> None:
    bad = {
        "client_id": "1234.5678",
        "events": [{"name": "ga_reserved_name", "params": {"label": "x" * 150, "9bad": 1}}],
    }
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad), encoding="utf-8")
    result = _validate(site, ga, "--payload", str(path))
    assert result.returncode != 0
    assert len(ga.debug_hits) == 2
    # What the GA stand-in answered is what the command printed, per token.
    codes = {m["validationCode"] for m in ga.debug_hits[0].validation}
    assert {"NAME_RESERVED", "VALUE_INVALID", "NAME_INVALID"} <= codes
    for message in ga.debug_hits[0].validation:
        assert (
            f"fieldPath {message['fieldPath']!r}: {message['description']} [{message['validationCode']}]"
            in result.stdout
        )
    assert result.stdout.count("3 message(s)") == 2
    assert "problem(s) found" in result.stderr


def test_an_answer_not_in_the_documented_format_fails(site: Path, ga: GACollector) -> None:
    ga.garbage_next(1)
    result = _validate(site, ga)
    assert result.returncode != 0
    assert "not in its documented format" in result.stdout
    assert "1 problem(s) found" in result.stderr


def test_an_unreachable_server_fails_without_leaking_the_secret(site: Path) -> None:
    with GACollector() as gone:
        endpoint = gone.endpoint
    env = _env(
        site,
        OTEL_EXPORTER_GA_ENDPOINT=endpoint,
        OTEL_EXPORTER_GA_TIMEOUT="2",
        OTEL_EXPORTER_GA_TOKENS=json.dumps(TOKENS[:1]),
    )
    result = _manage(env, "otel_aa_validate")
    assert result.returncode != 0
    assert "could not reach the validation server (ConnectionError)" in result.stdout
    assert str(TOKENS[0]["api_secret"]) not in result.stdout + result.stderr


def test_no_token_is_a_clear_error(site: Path, ga: GACollector) -> None:
    result = _validate(site, ga, tokens=[])
    assert result.returncode != 0
    assert "No Google Analytics token is configured" in result.stderr
    assert not ga.requests


def test_a_skipped_token_is_named_and_fails_the_command(site: Path, ga: GACollector) -> None:
    tokens = [
        *TOKENS[:1],
        # A typo in a public id: shown as typed. A secret in the id field: masked.
        {"name": "typo", "measurement_id": "G-ABC DEF", "api_secret": "typo-secret-3k9d0x"},
        {"name": "nosecret", "measurement_id": "G-NOSECRET1"},
        {"measurement_id": "G-LONGTYPO1234567890123", "api_secret": "long-secret-8d7s6a"},
    ]
    result = _validate(site, ga, tokens=tokens)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "Skipped: OTEL_EXPORTER_GA_TOKENS: token 'typo'" in result.stdout
    assert "Skipped: OTEL_EXPORTER_GA_TOKENS: token 'nosecret' has no api_secret" in result.stdout
    assert "'G-LONGTYPO1234567890123'" in result.stdout  # the id is public: shown, typo and all
    assert "3 token(s) skipped" in result.stderr
    assert "All hits valid." not in out
    # The good token was still validated, and no secret was printed.
    assert {h.query["measurement_id"] for h in ga.debug_hits} == {"G-VALIDATE01"}
    for token in tokens:
        assert str(token.get("api_secret", "\0")) not in out
