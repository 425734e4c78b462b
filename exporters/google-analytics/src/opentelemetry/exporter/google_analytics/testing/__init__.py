"""Test helpers: a Measurement Protocol server on 127.0.0.1 and an independent payload validator.

:class:`GACollector` (:mod:`.collector`) plays GA for tests and the demo; :func:`validate_payload`
(:mod:`.validator`) checks a request body against Google's published rules, read independently of
the sanitizer in :mod:`~opentelemetry.exporter.google_analytics._limits`.
"""

from __future__ import annotations

from opentelemetry.exporter.google_analytics.testing._collector import GACollector, Hit
from opentelemetry.exporter.google_analytics.testing._validator import ValidationMessage, validate_payload

__all__ = ["GACollector", "Hit", "ValidationMessage", "validate_payload"]
