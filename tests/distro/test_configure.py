"""``otel_aa.configure()`` and the configurator, in fresh subprocesses (they set global providers)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from .conftest import ROOT, base_env

PROBE = r"""
import json, os
import otel_aa
otel_aa.configure()
otel_aa.configure()
import django
django.setup()
from django.conf import settings
from opentelemetry import trace
from celery import signals
from otel_aa import _celery_hooks as celery_hooks, checks, _configurator as configurator
from otel_aa._sampling import AnalyticsSampler
middleware = [m for m in settings.MIDDLEWARE if "opentelemetry" in m]
provider = trace.get_tracer_provider()
print("RESULT " + json.dumps({
    "middleware": middleware,
    "first": settings.MIDDLEWARE[0],
    "configured": configurator.is_configured(),
    "sampler": type(provider.sampler).__name__,
    "inner": provider.sampler.sampler.get_description(),
    "w002": [m.id for m in checks.check_pipeline()],
    "success_receivers": sum(1 for r in signals.task_success.receivers if "otel_aa" in str(r[0])),
    "env": {k: os.environ.get(k) for k in ("OTEL_TRACES_EXPORTER", "OTEL_LOGS_EXPORTER",
                                           "OTEL_EXPORTER_OTLP_PROTOCOL")},
}))
"""


def _run(env, code=PROBE):
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, done.stderr[-4000:]
    return json.loads(line[len("RESULT "):]), done


def test_configure_is_idempotent_and_complete(tmp_path, redis_server):
    env = base_env(redis_server, tmp_path / "db.sqlite3")
    env.update(OTEL_TRACES_SAMPLER="parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG="0.25",
               OTEL_EXPORTER_GA_MEASUREMENT_ID="G-TEST0001", OTEL_EXPORTER_GA_API_SECRET="abcdefghijk",
               OTEL_EXPORTER_GA_ENDPOINT="http://127.0.0.1:9/mp/collect", OTEL_METRICS_EXPORTER="none")
    result, _ = _run(env)
    assert result["middleware"] == [
        "opentelemetry.instrumentation.django.middleware.otel_middleware._DjangoMiddleware"]
    assert result["first"] == result["middleware"][0]
    assert result["configured"] and result["w002"] == []
    assert result["sampler"] == "AnalyticsSampler" and "0.25" in result["inner"]
    assert result["success_receivers"] == 1
    assert result["env"] == {"OTEL_TRACES_EXPORTER": "ga", "OTEL_LOGS_EXPORTER": "none",
                             "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}


def test_configure_before_django_settings_warns_and_does_not_raise(tmp_path, redis_server):
    env = base_env(redis_server, tmp_path / "db.sqlite3")
    env.pop("DJANGO_SETTINGS_MODULE")
    env["OTEL_METRICS_EXPORTER"] = "none"
    code = ("import otel_aa\notel_aa.configure()\nfrom django.conf import settings\n"
            "print('RESULT ' + str(settings.configured).lower())")
    result, done = _run(env, code)
    assert result is False  # otel-aa did not configure Django behind the site's back
    assert "Call otel_aa.configure() after setting DJANGO_SETTINGS_MODULE" in done.stderr


def test_manage_py_check_reports_a_bad_token_once_masked(tmp_path, redis_server):
    env = base_env(redis_server, tmp_path / "db.sqlite3")
    env["OTEL_EXPORTER_GA_TOKENS"] = json.dumps([
        {"name": "good", "measurement_id": "G-GOOD0001", "api_secret": "goodsecret-123"},
        {"name": "bad", "measurement_id": "not-an-id", "api_secret": "badsecret-zq7xk"},
    ])
    done = subprocess.run([sys.executable, "-m", "django", "check"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-3000:]  # a warning: the site and migrate still run
    assert "otel_aa.W004" in out and "bad" in out, out[-3000:]
    assert "otel_aa.W001" not in out  # the good token still runs
    assert "badsecret-zq7xk" not in out and "goodsecret-123" not in out


SDK_PROBE = r"""
import json, os
before = dict(os.environ)
from otel_aa import _configurator as configurator
{start}
from opentelemetry import metrics, trace
from opentelemetry.exporter.google_analytics import GoogleAnalyticsMetricReader
from opentelemetry.sdk.metrics import MeterProvider
readers = GoogleAnalyticsMetricReader.running()
provider = metrics.get_meter_provider()
written = sorted(k for k in set(os.environ) | set(before) if os.environ.get(k) != before.get(k))
# A collection through the provider reaches the GA reader (the SDK gave it to the provider).
collections = []
for reader in readers:
    reader.collect_if_due = lambda reader=reader: collections.append(reader) or True
provider.force_flush(10_000)  # its result also says the OTLP reader's export to port 9 failed
flushed_through = len(collections) == len(readers)  # before shutdown, which sends what is due too
configurator.shutdown()
print("RESULT " + json.dumps({{
    "configured": configurator.is_configured(),
    "sdk_meter_provider": isinstance(provider, MeterProvider),
    "ga_readers": len(readers),
    "flushed_through_provider": flushed_through,
    "running_after_shutdown": len(GoogleAnalyticsMetricReader.running()),
    "written": written,
    "sampler": trace.get_tracer_provider().sampler.get_description(),
}}))
"""


def test_the_sdk_builds_the_ga_reader_and_its_provider_flushes_and_stops_it(tmp_path, redis_server):
    """``OTEL_METRICS_EXPORTER=ga,otlp``: the SDK builds both readers from the environment as it is
    (nothing rewritten around it) and the MeterProvider owns the GA reader: its flush reaches the
    reader, its shutdown stops it. configure() writes only the distro's defaults."""
    env = base_env(redis_server, tmp_path / "db.sqlite3")
    env.update(OTEL_EXPORTER_GA_MEASUREMENT_ID="G-TEST0001", OTEL_EXPORTER_GA_API_SECRET="abcdefghijk",
               OTEL_EXPORTER_GA_ENDPOINT="http://127.0.0.1:9/mp/collect", OTEL_METRICS_EXPORTER="ga,otlp",
               OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_TRACES_SAMPLER="always_off",
               OTEL_EXPORTER_OTLP_TIMEOUT="1")  # port 9 refuses: the OTLP reader gives up soon
    result, done = _run(env, SDK_PROBE.format(start="configurator.configure()"))
    assert result["configured"] and result["sdk_meter_provider"], done.stderr[-3000:]
    assert result["ga_readers"] == 1 and result["flushed_through_provider"], (result, done.stderr[-3000:])
    assert result["running_after_shutdown"] == 0
    # The distro's defaults (setdefault), and only those of them the admin left unset.
    assert result["written"] == ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_LOGS_EXPORTER", "OTEL_TRACES_EXPORTER"]
    assert result["sampler"] == "AnalyticsSampler{AlwaysOffSampler}"


def test_the_configurator_alone_defaults_to_ga_without_writing_the_environment(tmp_path, redis_server):
    """``OTEL_PYTHON_CONFIGURATOR=otel_aa`` under another distro: nothing names an exporter, so
    the configurator hands the SDK ``ga`` for traces and metrics, as arguments."""
    env = base_env(redis_server, tmp_path / "db.sqlite3")
    env.update(OTEL_EXPORTER_GA_MEASUREMENT_ID="G-TEST0001", OTEL_EXPORTER_GA_API_SECRET="abcdefghijk",
               OTEL_EXPORTER_GA_ENDPOINT="http://127.0.0.1:9/mp/collect")
    result, done = _run(env, SDK_PROBE.format(start="configurator.OtelAAConfigurator().configure()"))
    assert result["configured"] and result["ga_readers"] == 1, done.stderr[-3000:]
    assert result["written"] == []
    assert result["sampler"] == "AnalyticsSampler{ParentBased{root:AlwaysOnSampler,remoteParentSampled:" \
        "AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler," \
        "localParentNotSampled:AlwaysOffSampler}}"


def _environment_writes(source: str, name: str) -> list[str]:
    """Where ``source`` writes ``os.environ`` (assignment, ``del``, a mutating method, ``putenv``)."""
    tree = ast.parse(source)
    found = []
    mutators = {"setdefault", "update", "pop", "popitem", "clear", "__setitem__", "__delitem__"}
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript) and ast.unparse(target.value).endswith("environ"):
                found.append(f"{name}:{node.lineno}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner, method = ast.unparse(node.func.value), node.func.attr
            if (owner.endswith("environ") and method in mutators) or (owner == "os" and method == "putenv"):
                found.append(f"{name}:{node.lineno}:{node.func.attr}")
    return found


WRITES = """
import os
os.environ["A"] = "1"
del os.environ["A"]
os.environ.update(A="1")
os.environ.pop("A")
os.putenv("A", "1")
"""


def test_only_the_distro_writes_the_environment_and_only_defaults():
    # The oracle sees each kind of write.
    assert len(_environment_writes(WRITES, "probe")) == 5
    # otel_aa.demo plays the host site (its own settings module, as a site's celery.py does).
    writes = {str(path.relative_to(ROOT)): _environment_writes(path.read_text(encoding="utf-8"), path.name)
              for path in (ROOT / "otel_aa").rglob("*.py") if "demo" not in path.parts}
    lines = (ROOT / "otel_aa" / "_distro.py").read_text(encoding="utf-8").splitlines()
    setdefault = next(i for i, line in enumerate(lines, 1)
                      if line.strip().startswith("os.environ.setdefault("))
    assert {name: found for name, found in writes.items() if found} == {
        "otel_aa/_distro.py": [f"_distro.py:{setdefault}:setdefault"]}
