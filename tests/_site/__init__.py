"""A small Django + Celery project for otel-aa's tests (``DJANGO_SETTINGS_MODULE=_site.settings``).

Importable as ``_site`` with ``tests/`` on ``sys.path`` (pytest puts it there for
``tests/conftest.py``; subprocesses get ``PYTHONPATH``). Environment it reads:
``OTEL_AA_TEST_DB`` (SQLite file; default in-memory), ``OTEL_AA_TEST_REDIS_URL`` and
``OTEL_AA_TEST_REDIS_PREFIX`` (cache and Celery broker), ``OTEL_AA_TEST_CODE_START`` (``1``: the
WSGI module and Celery app call ``otel_aa.configure()`` themselves).
"""
