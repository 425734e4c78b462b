"""``load_tokens_report()``: the skipped tokens as data, for commands and checks to show."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry.exporter.google_analytics._tokens import TokenProblem, load_tokens, load_tokens_report

GOOD = {"name": "good", "measurement_id": "G-GOOD00001", "api_secret": "good-secret-5f8a2k"}


def test_every_skipped_token_is_a_record_and_the_good_ones_still_load(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_GA_TOKENS", json.dumps([
        GOOD,
        {"name": "nosecret", "measurement_id": "G-NOSECRET1"},
        {"measurement_id": "G-TOOLONG12345678901234567", "api_secret": "long-secret-1a2b3c"},
        {"name": "swapped", "measurement_id": "swapped-secret-9z8y7x", "api_secret": "G-SWAPPED01"},
    ]))
    with caplog.at_level(logging.ERROR, logger="opentelemetry.exporter.google_analytics"):
        report = load_tokens_report()
    assert [t.name for t in report.tokens] == ["good"] == [t.name for t in load_tokens()]
    assert [(p.setting, p.token) for p in report.problems] == [
        ("OTEL_EXPORTER_GA_TOKENS", "'nosecret'"),
        # A measurement id is public: one with a typo names its token and is shown as typed.
        ("OTEL_EXPORTER_GA_TOKENS", "'G-TOOLONG12345678901234567'"),
        ("OTEL_EXPORTER_GA_TOKENS", "'swapped'"),
    ]
    assert "'G-TOOLONG12345678901234567', which is not a GA4 measurement id" in report.problems[1].text
    text = "\n".join(map(str, report.problems))
    # Secrets stay masked, in the records as in the log lines, which say the same.
    for secret in ("long-secret-1a2b3c", "swapped-secret-9z8y7x", "good-secret-5f8a2k"):
        assert secret not in text and secret not in caplog.text
    for problem in report.problems:
        assert str(problem) in caplog.text


def test_a_broken_list_and_the_short_form_are_reported_by_their_setting(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_GA_TOKENS", "[{not json")
    monkeypatch.setenv("OTEL_EXPORTER_GA_MEASUREMENT_ID", "G-SHORT0001")
    report = load_tokens_report()
    assert report.tokens == []
    assert report.problems[0] == TokenProblem("OTEL_EXPORTER_GA_TOKENS", "list", report.problems[0].text)
    assert report.problems[0].text.startswith("is not valid JSON")
    assert (report.problems[1].setting, report.problems[1].token) == (
        "OTEL_EXPORTER_GA_MEASUREMENT_ID/OTEL_EXPORTER_GA_API_SECRET", "'G-SHORT0001'")


def test_nothing_configured_is_no_problem() -> None:
    report = load_tokens_report()
    assert report.tokens == [] and report.problems == []
