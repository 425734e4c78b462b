import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
from opentelemetry.exporter.google_analytics.testing import GACollector
import os
ga = GACollector().start()
os.environ["OTEL_EXPORTER_GA_ENDPOINT"] = ga.endpoint
import django; django.setup()
from django.test import Client
from django.contrib.auth import get_user_model
c = Client(HTTP_HOST="auth.canary-corp-q7zx.example")
u = get_user_model().objects.get(username="canary-pilot-q7zx")
c.force_login(u)
r = c.get("/dashboard/")
print("status", r.status_code, file=sys.stderr)
from opentelemetry import trace
print("flush", trace.get_tracer_provider().force_flush(), file=sys.stderr)
print("HITS", [(h.query, h.body) for h in ga.requests], file=sys.stderr)
