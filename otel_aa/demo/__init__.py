"""The embedded example site behind ``otel-aa demo``.

A tiny Django project with a Celery app, shaped like an Alliance Auth install (an included app,
route templates with ids, a ``re_path`` route, HTML pages with titles, a JSON endpoint, a
redirect, a 404, tasks that succeed, fail and retry). It runs on SQLite in a temporary
directory and an in-process Celery broker, so it needs no services. :mod:`otel_aa.demo.runner`
drives it and reports what reached the loopback Google Analytics server.
"""
