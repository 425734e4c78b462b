"""Django's test runner, recording each test's outcome and the personal data it created.

``AA_SUITE_RESULTS`` names a JSON file: ``{"outcomes": {test id: outcome}, "personal": [...],
"vocabulary": [...]}``.
Outcomes are ``ok``, ``fail``, ``error``, ``skip``, ``xfail``, ``xpass``. The personal data
(user names, e-mails, character, corporation, alliance and group names) is read from the test
database after each test, before Django rolls the test back: it is what a GA payload must never
hold.
"""

from __future__ import annotations

import json
import os
import re
import unittest
from typing import Any

from django.test.runner import DiscoverRunner

_FIELDS = (
    ("django.contrib.auth.models", "User", ("username", "email", "first_name", "last_name")),
    ("django.contrib.auth.models", "Group", ("name",)),
    ("allianceauth.eveonline.models", "EveCharacter", ("character_name",)),
    ("allianceauth.eveonline.models", "EveCorporationInfo", ("corporation_name",)),
    ("allianceauth.eveonline.models", "EveAllianceInfo", ("alliance_name",)),
)


def words(text: str) -> set[str]:
    """The lower-case words and numbers of ``text``."""
    return {w for w in re.split(r"[^0-9a-z]+", text.casefold()) if w}


def _vocabulary() -> set[str]:
    """Words of the site's code: URL routes, names and views, apps, models, Celery tasks.

    A fixture value made of these only ("admin", "Member") can't be told from code in a payload.
    """
    from django.apps import apps
    from django.urls import URLResolver, get_resolver

    found: set[str] = set()

    def walk(patterns: Any) -> None:
        for pattern in patterns:
            found.update(words(str(pattern.pattern)))
            if isinstance(pattern, URLResolver):
                found.update(words(f"{pattern.namespace or ''} {pattern.app_name or ''}"))
                walk(pattern.url_patterns)
            else:
                callback = pattern.callback
                found.update(words(f"{pattern.name or ''} {getattr(callback, '__module__', '')} "
                                   f"{getattr(callback, '__name__', '')}"))

    walk(get_resolver().url_patterns)
    for config in apps.get_app_configs():
        found.update(words(f"{config.label} {config.name} {config.verbose_name}"))
        for model in config.get_models():
            found.update(words(f"{model.__name__} {model._meta.verbose_name}"))
    from celery import current_app

    for name in list(current_app.tasks):
        found.update(words(name))
    return found


def _personal_data() -> set[str]:
    import importlib

    from django.db import DatabaseError, transaction

    found: set[str] = set()
    for module, name, fields in _FIELDS:
        model = getattr(importlib.import_module(module), name)
        try:
            # A savepoint: a failing read must not break the test's own transaction.
            with transaction.atomic():
                for row in model.objects.values_list(*fields):
                    found.update(v for v in row if isinstance(v, str) and v.strip())
        except (DatabaseError, transaction.TransactionManagementError):
            continue
    return found


class _RecordingResult(unittest.TextTestResult):
    outcomes: dict[str, str]
    personal: set[str]

    def startTestRun(self) -> None:
        self.outcomes, self.personal = {}, set()
        super().startTestRun()

    def _set(self, test: Any, outcome: str) -> None:
        key = test.id()
        # A test with a failed subtest (or a failing tearDown after success) stays failed.
        if self.outcomes.get(key) in (None, "ok"):
            self.outcomes[key] = outcome

    def addSuccess(self, test: Any) -> None:
        super().addSuccess(test)
        self._set(test, "ok")

    def addFailure(self, test: Any, err: Any) -> None:
        super().addFailure(test, err)
        self._set(test, "fail")

    def addError(self, test: Any, err: Any) -> None:
        super().addError(test, err)
        self._set(test, "error")

    def addSkip(self, test: Any, reason: str) -> None:
        super().addSkip(test, reason)
        self._set(test, "skip")

    def addExpectedFailure(self, test: Any, err: Any) -> None:
        super().addExpectedFailure(test, err)
        self._set(test, "xfail")

    def addUnexpectedSuccess(self, test: Any) -> None:
        super().addUnexpectedSuccess(test)
        self._set(test, "xpass")

    def addSubTest(self, test: Any, subtest: Any, err: Any) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._set(test, "fail" if issubclass(err[0], test.failureException) else "error")

    def stopTest(self, test: Any) -> None:
        if getattr(test, "databases", None):
            try:
                self.personal |= _personal_data()
            except Exception:  # recording must never change the suite's outcome
                self.personal.add("<personal data not readable>")
        super().stopTest(test)

    def stopTestRun(self) -> None:
        super().stopTestRun()
        path = os.environ.get("AA_SUITE_RESULTS")
        if path:
            with open(path, "w", encoding="utf-8") as out:
                json.dump({"outcomes": self.outcomes, "personal": sorted(self.personal),
                           "vocabulary": sorted(_vocabulary())}, out)


class RecordingRunner(DiscoverRunner):
    def get_resultclass(self) -> Any:
        return _RecordingResult
