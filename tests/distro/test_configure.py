"""``otel_aa.configure()`` and the configurator, in fresh subprocesses (they set global providers)."""

from __future__ import annotations

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
from otel_aa import checks, configurator, hooks
from otel_aa.sampling import AnalyticsSampler
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
