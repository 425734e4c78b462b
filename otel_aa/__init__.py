"""otel-aa: privacy-first usage analytics for Alliance Auth, built on OpenTelemetry.

(The usage guide is written here as the package grows; see README.md.)
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
