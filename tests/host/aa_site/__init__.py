"""Alliance Auth's test site, rebuilt: AA's ``tests/`` (settings_all, urls) is not in the wheel."""
