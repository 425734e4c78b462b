"""A stand-in app for the daily-stats tests (only its label matters)."""
