"""otel-aa's Django management commands."""
