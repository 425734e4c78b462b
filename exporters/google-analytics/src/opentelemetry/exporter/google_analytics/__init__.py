"""OpenTelemetry exporters for the Google Analytics 4 Measurement Protocol."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
