"""The host's own test suite is the proof: Alliance Auth's shipped tests give the same result
with otel-aa on (zero-code, ``OTEL_BSP_SCHEDULE_DELAY=1`` to make races likely).

Every test's outcome is compared with a baseline run without otel-aa (cached per AA version,
outside the repository: :func:`_aa_suite.baseline`); a test that fails, errors or vanishes only
with otel-aa fails this one. The same run must send GA events (otel-aa really ran), none holding
personal data of AA's test fixtures, and must leave no database file behind at exit.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from . import _aa_suite

pytest.importorskip("allianceauth")

#: Both runs (baseline once per AA version, then otel-aa) on a loaded CI box.
SUITE_TIMEOUT = 2 * _aa_suite.RUN_TIMEOUT


@pytest.fixture(scope="module")
def runs() -> Iterator[tuple[_aa_suite.SuiteRun, _aa_suite.SuiteRun]]:
    from opentelemetry.exporter.google_analytics.testing import GACollector

    base = _aa_suite.baseline()
    with GACollector(validate=False) as ga:
        run = _aa_suite.run_suite("zero-code", ga.endpoint)
        run.hits = [hit.body for hit in ga.hits if isinstance(hit.body, dict)]
    yield base, run


@pytest.mark.slow
@pytest.mark.timeout(SUITE_TIMEOUT)
def test_no_aa_test_fails_only_with_otel_aa(runs: tuple[_aa_suite.SuiteRun, _aa_suite.SuiteRun]) -> None:
    base, run = runs
    # AA 5.5 ships 1,241 tests; all but a few environment errors (no network, no zeroc-ice) pass.
    assert base.counts["ok"] > 1000, base.output[-3000:]
    broken = _aa_suite.only_failing_with(base, run)
    assert broken == {}, run.output[-6000:]


@pytest.mark.slow
@pytest.mark.timeout(SUITE_TIMEOUT)
def test_otel_aa_sent_from_the_suite_without_personal_data(
        runs: tuple[_aa_suite.SuiteRun, _aa_suite.SuiteRun]) -> None:
    _, run = runs
    # AA's views and Celery tasks ran under otel-aa: page views and task events reached GA.
    names = {event.get("name") for hit in run.hits for event in hit.get("events", ())}
    assert {"page_view", "celery_event"} <= names, names
    assert run.personal and run.vocabulary  # the fixtures' names were collected to look for
    assert _aa_suite.personal_data_in(run.hits, run.personal, run.vocabulary) == set()


@pytest.mark.slow
@pytest.mark.timeout(SUITE_TIMEOUT)
def test_exit_after_the_test_database_is_gone_touches_no_database(
        runs: tuple[_aa_suite.SuiteRun, _aa_suite.SuiteRun]) -> None:
    _, run = runs
    # The configured database was never the host's in this process: no file made by connecting.
    assert not run.db_file_created
    lines = [line for line in run.output.splitlines() if "otel-aa" in line or "otel_aa" in line]
    assert [line for line in lines if "fail" in line.lower() or "error" in line.lower()] == []


def test_the_personal_data_check_finds_a_name_in_a_payload() -> None:
    vocabulary = ["admin", "groupmanagement", "groups", "openfire", "update"]
    personal = ["Batman", "admin", "open", "Test Character 1001", "bruce@example.com", "1001"]
    hits = [
        {"events": [{"name": "page_view", "params": {"page_title": "groupmanagement:groups",
                                                     "page_location": "https://site.invalid/admin/"}}]},
        {"events": [{"name": "celery_event", "params": {"namespace": "openfire", "task": "update",
                                                        "label": "Batman's alt"}}]},
        {"user_properties": {"note": {"value": "mail bruce@example.com"}}, "events": []},
        {"events": [{"name": "x", "params": {"label": "test character 1001"}}]},
    ]
    found = _aa_suite.personal_data_in(hits, personal, vocabulary)
    # Code words ("admin"), a word inside another ("open" in "openfire") and bare ids are not
    # personal data; a name, an e-mail and a character's name are.
    assert found == {"Batman", "bruce@example.com", "Test Character 1001"}


def test_only_failing_with_compares_test_by_test() -> None:
    def run(outcomes: dict[str, str]) -> _aa_suite.SuiteRun:
        return _aa_suite.SuiteRun("x", outcomes, [], 1.0, 0, "")

    base = run({"a": "ok", "b": "error", "c": "skip", "d": "ok"})
    other = run({"a": "fail", "b": "error", "c": "skip"})
    assert _aa_suite.only_failing_with(base, other) == {"a": "fail", "d": "missing"}
