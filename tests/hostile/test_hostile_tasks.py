"""Hostile Celery tasks: exotic names, exceptions whose ``str()`` raises, odd return values.

A real Celery app runs each task through its own tracer (``Task.apply()``: the same signals a
worker sends), instrumented as otel-aa does it (Celery instrumentor + otel-aa's signal hooks) with
a GA pipeline to the loopback collector. The task's outcome must be what it is without otel-aa,
the guard must not have had to swallow anything, and GA gets a valid ``celery_event`` with the
class name only, never an exception text.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery import Celery
from opentelemetry.exporter.google_analytics import GoogleAnalyticsSpanExporter
from opentelemetry.exporter.google_analytics.testing import GACollector
from opentelemetry.sdk.trace import TracerProvider

import otel_aa
from hostile.conftest import TOKENS
from otel_aa import _celery_hooks as celery_hooks
from otel_aa import _configurator as configurator
from otel_aa._ga_mapping import AAMapping

pytestmark = pytest.mark.timeout(120)


class Pipeline:
    def __init__(self, provider: TracerProvider, app: Celery) -> None:
        self.provider = provider
        self.app = app

    def flush(self) -> None:
        assert self.provider.force_flush(30_000)


@pytest.fixture
def celery_pipeline(ga: GACollector) -> Iterator[Pipeline]:
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    exporter = GoogleAnalyticsSpanExporter(
        mapping=AAMapping(),
        endpoint=ga.endpoint, tokens=TOKENS, client_id="hostile-client", validate=False, timeout=5
    )
    provider = TracerProvider(sampler=configurator._sampler())
    provider.add_span_processor(configurator.export_span_processor(exporter))
    instrumentor = CeleryInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    assert celery_hooks.connect_celery_signals()
    app = Celery("hostile", broker="memory://", backend="cache+memory://", set_as_current=False)
    app.conf.task_store_eager_result = False
    try:
        yield Pipeline(provider, app)
    finally:
        instrumentor.uninstrument()
        provider.shutdown()


class StrRaises(Exception):
    def __str__(self) -> str:
        raise RuntimeError("str() of this exception raises")

    def __repr__(self) -> str:
        raise RuntimeError("repr() of this exception raises")


class SecretText(Exception):
    pass


class NeedsTwoArgs(Exception):
    """Common in the wild, and not picklable: Celery hands signals an UnpickleableExceptionWrapper."""

    def __init__(self, what: str, code: int) -> None:
        super().__init__(what)
        self.code = code


LongName = type("E" * 300, (Exception,), {})
UnicodeName = type("Ошибка🚀", (Exception,), {})

TASK_NAMES = [
    "allianceauth.eveonline.tasks.update_character",
    "ünïcødé.tasks.täsk_名前",
    "🚀.tasks.🚀",
    "a" * 1000,
    "x." * 300 + "y",
    "...",
    "tasks",
    "mod.tasks.",
    " spaced name with spaces ",
    "ctrl\x00\x1b[31m.tasks.t\x7f",
    "\u202eevil.tasks.t",
]


def _events(ga: GACollector) -> list[dict[str, Any]]:
    return ga.events("celery_event", TOKENS[0]["measurement_id"])


@pytest.mark.parametrize("name", TASK_NAMES, ids=range(len(TASK_NAMES)))
def test_exotic_task_names(celery_pipeline: Pipeline, ga: GACollector, name: str) -> None:
    def answer() -> int:
        return 42

    task = celery_pipeline.app.task(name=name, shared=False)(answer)
    result = task.apply()
    assert result.successful() and result.get() == 42
    celery_pipeline.flush()
    assert ga.invalid == [], [h.validation for h in ga.invalid]
    (event,) = _events(ga)
    params = event["params"]
    assert params["result"] == "Success"
    assert params["value"] == 42
    assert all(len(v) <= 100 for v in params.values() if isinstance(v, str))


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (StrRaises(), "StrRaises"),
        (SecretText("password=hunter2 user=alice@example.org"), "SecretText"),
        # Classes made at run time aren't code: their names are whatever the program made up.
        (LongName("x"), "Error"),
        (UnicodeName("x"), "Error"),
        (NeedsTwoArgs("x", 3), "NeedsTwoArgs"),
    ],
    ids=["str-raises", "secret-text", "long-class-name", "unicode-class-name", "unpicklable"],
)
def test_exceptions_are_reported_by_class_name_only(
    celery_pipeline: Pipeline, ga: GACollector, exc: BaseException, expected: str
) -> None:
    def boom() -> None:
        raise exc

    task = celery_pipeline.app.task(name="hostile.tasks.boom", shared=False)(boom)
    result = task.apply()  # Celery's own outcome, unchanged by otel-aa
    assert result.failed()
    celery_pipeline.flush()
    assert ga.invalid == []
    (event,) = _events(ga)
    assert event["params"]["result"] == expected
    assert event["params"]["namespace"] == "hostile"
    assert event["params"]["task"] == "boom"
    raw = b"".join(h.raw for h in ga.hits)
    assert b"hunter2" not in raw and b"alice" not in raw


@pytest.mark.parametrize(
    "value",
    [True, 2**80, -(2**80), 1.5, "7", None, object(), float("nan")],
    ids=["bool", "huge", "huge-negative", "float", "str", "none", "object", "nan"],
)
def test_odd_return_values(celery_pipeline: Pipeline, ga: GACollector, value: Any) -> None:
    def odd() -> Any:
        return value

    task = celery_pipeline.app.task(name="hostile.tasks.odd", shared=False)(odd)
    result = task.apply()
    assert result.successful()
    celery_pipeline.flush()
    assert ga.invalid == []
    (event,) = _events(ga)
    sent = event["params"]["value"]
    assert isinstance(sent, int) and not isinstance(sent, bool)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 2**63:
        assert sent == value


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")


@pytest.mark.guard_expected
def test_analytics_event_with_unprintable_arguments_never_raises(guard_reraises: list[BaseException]) -> None:
    assert otel_aa.analytics_event(_Unprintable(), "task") is None  # type: ignore[arg-type]
    assert otel_aa.analytics_event("ns", _Unprintable(), label=_Unprintable()) is None  # type: ignore[arg-type]
    assert all(isinstance(e, RuntimeError) for e in guard_reraises)
