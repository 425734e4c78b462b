"""Aggregated task events: the task-run counter (otel_aa._task_counts), counted by otel-aa's Celery
hooks, sent as counts to the tokens that take them, per-run events to the others; real Celery
workers on the real Redis, GA and OTLP on loopback."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from typing import Any

import pytest
from opentelemetry.exporter.google_analytics._counts import AGGREGATE_PARAM

from otel_aa import _ga_mapping as ga_mapping
from otel_aa import names
from otel_aa.privacy import ALLOWED_METRIC_ATTRIBUTES

from .conftest import otel_env

PER_RUN, COUNTS = "G-PERRUN001", "G-COUNTS001"
TOKENS = [
    {"name": "per-run", "measurement_id": PER_RUN, "api_secret": "canarysecret-zq7xk",
     "daily_stats": False},
    {"name": "counts", "measurement_id": COUNTS, "api_secret": "canarysecret-zq7xk",
     "daily_stats": False, "aggregate_celery_events": True},
]
EXC = "canaryexception-zq7xk"


def _site_events(ga: Any, measurement_id: str) -> list[dict[str, Any]]:
    return [e["params"] for e in ga.events("celery_event", measurement_id)
            if e["params"].get("namespace") == "_site"]


def _sums(ga: Any) -> Counter[tuple[str, str]]:
    sums: Counter[tuple[str, str]] = Counter()
    for params in _site_events(ga, COUNTS):
        sums[(params["task"], params["result"])] += params["value"]
    return sums


@pytest.mark.slow
@pytest.mark.parametrize("pool,metrics", [("threads", "ga,otlp"), ("prefork", "ga")])
def test_two_workers_counts_add_up_and_per_run_tokens_keep_their_events(
        ga, otlp, celery_worker, celery_app, redis_server, site_db, pool, metrics) -> None:
    # ga and otlp first: set up before the workers, so they are torn down after them.
    queue = f"q-{uuid.uuid4().hex[:8]}"
    env = otel_env(redis_server, site_db, ga, otlp, extra={
        "OTEL_AA_TEST_QUEUE": queue,
        "OTEL_EXPORTER_GA_TOKENS": json.dumps(TOKENS),
        "OTEL_METRICS_EXPORTER": metrics,
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "OTEL_EXPORTER_GA_TASK_INTERVAL": "0.5",
    })
    # Two workers (prefork: of two children each, four processes) run the tasks; each process
    # sends its own deltas, several intervals each. Prefork without an OTLP metrics reader: see
    # the report on prefork and OTLP metrics in docs/privacy.md's "Aggregated task events".
    workers = [celery_worker(env, pool, "--concurrency=2") for _ in range(2)]
    send = lambda name, *args: celery_app.send_task(f"_site.tasks.{name}", args=list(args),  # noqa: E731
                                                    queue=queue)
    for i in range(20):
        send("add", i, 1)
    for _ in range(3):
        send("fail", EXC)
    for _ in range(2):
        send("retry_once", "x")  # two runs each: the retry is not a run
    expected = Counter({("add", "Success"): 20, ("fail", "ValueError"): 3, ("retry_once", "Success"): 2})

    per_run_ok = ga.wait_for(lambda c: len(_site_events(c, PER_RUN)) >= 25, timeout=90)
    counts_ok = ga.wait_for(lambda c: _sums(c) == expected, timeout=60)
    logs = [w.stop() for w in workers]
    assert per_run_ok and counts_ok, (_sums(ga), len(_site_events(ga, PER_RUN)), logs[0][-5000:])

    # After both workers stopped (each child flushed its last deltas): exactly the runs, no more.
    assert _sums(ga) == expected, (_sums(ga), logs[0][-3000:])
    counted = _site_events(ga, COUNTS)
    assert all(p[AGGREGATE_PARAM] >= 1 and p["label"] == p["task"] for p in counted)
    # Fewer events than runs: counts per interval, not one per run.
    assert len(counted) < 25
    per_run = _site_events(ga, PER_RUN)
    assert len(per_run) == 25 and all(AGGREGATE_PARAM not in p for p in per_run)
    assert Counter((p["task"], p["result"]) for p in per_run) == expected
    for hit in ga.hits:
        assert EXC not in hit.raw.decode("utf-8", "replace")
    assert ga.invalid == []
    if "otlp" in metrics:  # the OTLP backend gets the same counter
        assert otlp.wait_for(lambda r: names.METRIC_TASK_RUNS in r.metric_names, timeout=30)


def test_the_counter_attributes_are_code_and_kept_by_the_otlp_allowlist() -> None:
    assert names.TASK_COUNT_ATTRIBUTES <= ALLOWED_METRIC_ATTRIBUTES
    (rule,) = ga_mapping.COUNT_RULES.values()
    params = rule.params
    assert params({"aa.task.namespace": "allianceauth.eveonline", "aa.task.name": "update",
                   "aa.task.result": "HTTPError"}) == {
        "namespace": "allianceauth.eveonline", "task": "update", "result": "HTTPError", "label": "update"}
    # Whoever counted: what isn't code becomes a placeholder.
    assert params({"aa.task.namespace": "a b", "aa.task.name": "x", "aa.task.result": "boom: id 42"}) == {
        "namespace": "other", "task": "other", "result": "Error", "label": "other"}
    assert ga_mapping.task_names("allianceauth.eveonline.tasks.update_character") == (
        "allianceauth.eveonline", "update_character")
    assert ga_mapping.task_names("not a task name") == ("other", "other")
    assert ga_mapping.task_names("nodots") == ("other", "other")


@pytest.mark.django_db
@pytest.mark.parametrize("daily_stats", [True, False], ids=["stats-on", "stats-off"])
def test_counts_every_interval_query_the_database_only_when_the_stats_are_due(ga, daily_stats) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from opentelemetry.exporter.google_analytics import (
        GoogleAnalyticsMetricExporter,
        GoogleAnalyticsMetricReader,
        InProcessLease,
    )
    from opentelemetry.sdk.metrics import MeterProvider

    from otel_aa import _stats as stats

    lease = InProcessLease(3600)
    tokens = [dict(t, daily_stats=daily_stats) for t in TOKENS]
    exporter = GoogleAnalyticsMetricExporter(tokens=tokens, endpoint=ga.endpoint, client_id="c",
                                             validate=False, lease=lease,
                                             mapping=ga_mapping.AAMapping())
    reader = GoogleAnalyticsMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader])
    try:
        stats.register_gauges(provider)
        runs = provider.get_meter("t").create_counter(names.METRIC_TASK_RUNS)
        point = {"aa.task.namespace": "app", "aa.task.name": "sync", "aa.task.result": "Success"}
        with CaptureQueriesContext(connection) as due:
            assert reader.collect_if_due()
        if daily_stats:
            assert len(due.captured_queries) >= 1, "the due collection counted nothing"
            assert ga.events("celery_event", PER_RUN), "no daily stats sent"
        else:
            # Nobody takes the stats: their lease is not asked, no row is counted.
            assert due.captured_queries == []
            assert ga.hits == []
        for n in (1, 2, 3):
            runs.add(n, point)
            with CaptureQueriesContext(connection) as interval:
                assert reader.collect_if_due()
            assert interval.captured_queries == []
        values = [e["params"]["value"] for e in ga.events("celery_event", COUNTS)
                  if e["params"]["namespace"] == "app"]
        assert values == [1, 2, 3]
        assert [e for e in ga.events("celery_event", PER_RUN) if e["params"]["namespace"] == "app"] == []
    finally:
        provider.shutdown()
