"""The sampler the configurator hands the SDK: ``OTEL_TRACES_SAMPLER`` read with public API only,
the SDK's way (entry points, the ratio argument), then wrapped so GA's counts can't be thinned."""

from __future__ import annotations

import logging
from importlib.metadata import EntryPoint

import pytest
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    DEFAULT_OFF,
    DEFAULT_ON,
    ParentBasedTraceIdRatio,
    Sampler,
    TraceIdRatioBased,
)

from otel_aa import _sampling as sampling
from otel_aa._sampling import AnalyticsSampler, analytics_sampler, sampler_from_environment


@pytest.mark.parametrize(("name", "arg", "expected"), [
    (None, None, DEFAULT_ON),
    ("always_on", None, ALWAYS_ON),
    ("always_off", None, ALWAYS_OFF),
    ("parentbased_always_on", None, DEFAULT_ON),
    ("parentbased_always_off", None, DEFAULT_OFF),
    ("traceidratio", "0.25", TraceIdRatioBased(0.25)),
    ("parentbased_traceidratio", "0.5", ParentBasedTraceIdRatio(0.5)),
    (" traceidratio ", "0.1", TraceIdRatioBased(0.1)),
])
def test_the_sdks_own_samplers_by_name(monkeypatch, name, arg, expected) -> None:
    for variable, value in (("OTEL_TRACES_SAMPLER", name), ("OTEL_TRACES_SAMPLER_ARG", arg)):
        if value is None:
            monkeypatch.delenv(variable, raising=False)
        else:
            monkeypatch.setenv(variable, value)
    assert sampler_from_environment().get_description() == expected.get_description()
    wrapped = analytics_sampler()
    assert isinstance(wrapped, AnalyticsSampler)
    assert wrapped.sampler.get_description() == expected.get_description()


def test_an_unreadable_rate_is_one_and_said(monkeypatch, caplog) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "half")
    with caplog.at_level(logging.WARNING, logger="otel_aa._sampling"):
        sampler = sampler_from_environment()
    assert sampler.get_description() == TraceIdRatioBased(1.0).get_description()
    assert "OTEL_TRACES_SAMPLER_ARG is not a number" in caplog.text
    assert "half" not in caplog.text


class _ArgSampler(Sampler):
    def __init__(self, arg: object) -> None:
        self.arg = arg

    def should_sample(self, *args, **kwargs):  # pragma: no cover - never sampled here
        return ALWAYS_ON.should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return f"ArgSampler{{{self.arg}}}"


def _not_a_sampler(arg: object) -> object:
    return object()


def _raises(arg: object) -> Sampler:
    raise RuntimeError("a third-party factory failed")


@pytest.fixture
def packaged(monkeypatch):
    """Entry points of an installed package's samplers (the group the SDK reads)."""
    found = {
        "custom": EntryPoint("custom", f"{__name__}:_ArgSampler", sampling.SAMPLER_GROUP),
        "not_a_sampler": EntryPoint("not_a_sampler", f"{__name__}:_not_a_sampler", sampling.SAMPLER_GROUP),
        "raises": EntryPoint("raises", f"{__name__}:_raises", sampling.SAMPLER_GROUP),
    }
    real = sampling.entry_points

    def entry_points(*, group: str, name: str):
        assert group == sampling.SAMPLER_GROUP
        return [found[name]] if name in found else real(group=group, name=name)

    monkeypatch.setattr(sampling, "entry_points", entry_points)


def test_a_packaged_sampler_gets_the_raw_argument(monkeypatch, packaged) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "custom")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "tenant=a")
    assert sampler_from_environment().get_description() == "ArgSampler{tenant=a}"


@pytest.mark.parametrize("name", ["no_such_sampler", "not_a_sampler", "raises"])
def test_a_sampler_that_cant_be_used_means_the_default_logged(monkeypatch, packaged, caplog, name) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", name)
    with caplog.at_level(logging.WARNING, logger="otel_aa._sampling"):
        sampler = sampler_from_environment()
    assert sampler is DEFAULT_ON
    assert f"OTEL_TRACES_SAMPLER={name} can't be used" in caplog.text
    assert "a third-party factory failed" not in caplog.text  # the class name only
