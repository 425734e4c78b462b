"""Real Celery workers (threads, prefork, solo) on the real Redis, started zero-code; GA on loopback."""

from __future__ import annotations

import uuid

import pytest

from .conftest import otel_env
from .test_live_gunicorn import _assert_no_canary, _checked_lines

pytestmark = pytest.mark.slow

ARG = "canaryarg-zq7xk"
RESULT = "canaryresult-zq7xk"
EXC = "canaryexception-zq7xk"
# Celery's own records of a task (received, succeeded with its result, failed with its traceback).
HOST_LOGGERS = ("celery.app.trace", "celery.worker.strategy", "celery.worker.request", "celery.pool",
                "celery.bootsteps", "kombu.")


def _send_all(app, queue: str) -> int:
    """Send one task of each rule; return how many task events GA should get."""
    send = lambda name, *args: app.send_task(f"_site.tasks.{name}", args=list(args), queue=queue)  # noqa: E731
    send("add", 2, 3)
    send("echo", RESULT + ARG)
    send("fail", EXC)
    send("returns_bool")
    send("retry_once", ARG)
    send("custom_event", "corp")
    # add, echo, fail, returns_bool, retry_once (once: the retry is not an event), custom_event,
    # and the custom event that task sends
    return 7


def _by_task(ga) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for event in ga.events("celery_event", "G-MAIN0001"):
        found.setdefault(event["params"]["task"], []).append(event["params"])
    return found


@pytest.mark.parametrize("pool,extra", [
    ("threads", ("--concurrency=2",)),
    ("prefork", ("--concurrency=2",)),
    ("prefork", ("--concurrency=1", "--max-tasks-per-child=1")),
    ("solo", ()),
    ("threads", ("--concurrency=2", "ratio0")),
], ids=["threads", "prefork", "prefork-recycled", "solo", "threads-sampler-ratio-0"])
def test_task_events(celery_worker, celery_app, ga, redis_server, site_db, pool, extra):
    queue = f"q-{uuid.uuid4().hex[:8]}"
    env = otel_env(redis_server, site_db, ga, extra={"OTEL_AA_TEST_QUEUE": queue})
    if "ratio0" in extra:
        # A sampler chosen for OTLP that samples nothing must not thin the task events.
        extra = tuple(x for x in extra if x != "ratio0")
        env.update(OTEL_TRACES_SAMPLER="parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG="0")
    worker = celery_worker(env, pool, *extra)
    expected = _send_all(celery_app, queue)

    # Wait while the worker runs (its batch processor exports every 200 ms). With
    # --max-tasks-per-child=1 each child runs one task and exits: its worker_process_shutdown flush
    # is the only way its event gets out.
    ok = ga.wait_for(lambda c: len(c.events("celery_event", "G-MAIN0001")) >= expected, timeout=60)
    log = worker.stop()
    assert ok, log[-5000:]

    tasks = _by_task(ga)
    assert tasks["add"] == [dict(tasks["add"][0], namespace="_site", result="Success", value=5)]
    assert tasks["echo"][0]["result"] == "Success" and tasks["echo"][0]["value"] == 1
    assert tasks["fail"][0]["result"] == "ValueError" and tasks["fail"][0]["value"] == 1
    assert tasks["returns_bool"][0]["value"] == 1
    assert len(tasks["retry_once"]) == 1, tasks["retry_once"]  # the retry itself is not an event
    assert tasks["retry_once"][0]["result"] == "Success" and tasks["retry_once"][0]["value"] == 7
    custom = tasks["from_task"][0]
    assert custom["namespace"] == "myapp" and custom["label"] == "corp" and custom["value"] == 5
    assert len(ga.events("celery_event", "G-MAIN0001")) == expected

    for hit in ga.requests:
        _assert_no_canary(hit.raw.decode("utf-8", "replace"), "a GA payload")
        for canary in (ARG, RESULT, EXC):
            assert canary not in hit.raw.decode("utf-8", "replace")
    checked = "\n".join(_checked_lines(log, HOST_LOGGERS))
    for canary in (ARG, RESULT, EXC, "canarysecret-zq7xk"):
        assert canary not in checked, f"{canary} reached a log line"
    assert "Task _site.tasks.add" in log  # the worker's own log was captured


def test_code_start_prefork_recycled(celery_worker, celery_app, ga, redis_server, site_db):
    """``otel_aa.configure()`` in celery.py instead of opentelemetry-instrument."""
    queue = f"q-{uuid.uuid4().hex[:8]}"
    env = otel_env(redis_server, site_db, ga, extra={"OTEL_AA_TEST_QUEUE": queue,
                                                     "OTEL_AA_TEST_CODE_START": "1"})
    for name in ("OTEL_PYTHON_CONFIGURATOR", "OTEL_PYTHON_DISTRO", "OTEL_TRACES_EXPORTER"):
        env.pop(name)
    worker = celery_worker(env, "prefork", "--concurrency=1", "--max-tasks-per-child=1", zero_code=False)
    expected = _send_all(celery_app, queue)
    ok = ga.wait_for(lambda c: len(c.events("celery_event", "G-MAIN0001")) >= expected, timeout=60)
    log = worker.stop()
    assert ok, log[-5000:]
    tasks = _by_task(ga)
    assert tasks["add"][0]["value"] == 5 and tasks["fail"][0]["result"] == "ValueError"
    assert len(ga.events("celery_event", "G-MAIN0001")) == expected
