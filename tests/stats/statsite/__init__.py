"""A tiny Django site the daily-stats tests run in child processes (each its own OS process).

Its settings come from environment variables the tests set (database file, cache, tokens), so
several processes of one "install" share the database and Redis as an Alliance Auth install does.
"""
