"""The same gauges reach OTLP at the OTLP reader's own interval; GA still gets one set.

The child starts otel-aa the code way (``otel_aa.configure()``) with
``OTEL_METRICS_EXPORTER=ga,otlp``: the SDK's periodic reader exports every 200 ms to a real
OTLP/HTTP receiver on 127.0.0.1, while the GA reader sends through the daily-stats lease.
"""

from __future__ import annotations

from typing import Any

import pytest
from _otlp_receiver import OTLPReceiver
from _stats_support import MAIN_ID, Install, existence_count
from opentelemetry.exporter.google_analytics.testing import GACollector

pytestmark = pytest.mark.slow

GAUGES = ("aa.install.existence", "aa.users", "aa.esi.tokens", "aa.apps", "aa.app.installed")


def test_otlp_reader_reads_the_gauges_often_while_ga_sends_once(
    make_install: Any, collector: GACollector
) -> None:
    install: Install = make_install()
    with OTLPReceiver() as otlp:
        child = install.start(
            "configure",
            OTEL_METRICS_EXPORTER="ga,otlp",
            OTEL_TRACES_EXPORTER="none",
            OTEL_EXPORTER_OTLP_ENDPOINT=otlp.endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_METRIC_EXPORT_INTERVAL="200",
        )
        try:
            child.expect("ready")
            # The GA reader checks the lease at its own pace; a flush makes it check now.
            child.send("flush")
            child.expect("flushed")
            assert existence_count(collector, MAIN_ID) == 1

            # Several OTLP exports, each with every gauge, at the OTLP reader's interval.
            assert otlp.wait_for(lambda r: r.metric_names.count("aa.users") >= 3, timeout=60)
            for name in GAUGES:
                assert name in otlp.metric_names, name

            child.send("flush")
            child.expect("flushed")
            child.send("stop")
            child.expect("done")
            assert child.finish() == 0, child.stderr
        finally:
            child.kill()
    assert existence_count(collector, MAIN_ID) == 1, "GA must not follow the OTLP reader's pace"
