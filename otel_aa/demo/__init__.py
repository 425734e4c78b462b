"""The embedded example site behind ``otel-aa demo``.

A tiny Django project with a Celery app, shaped like an Alliance Auth install (an included app,
route templates with ids, a ``re_path`` route, HTML pages with titles, a JSON endpoint, a
redirect, a 404, tasks that succeed, fail and retry). It runs on SQLite in a temporary
directory and an in-process Celery broker, so it needs no services. :mod:`otel_aa.demo.runner`
is ``otel-aa demo``: :mod:`~otel_aa.demo.play` plays :mod:`~otel_aa.demo.scenario` against a
loopback Google Analytics server, :mod:`~otel_aa.demo.report` shows what reached it.
"""
