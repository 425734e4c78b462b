"""Values GA may get because they are code or members of a closed set, never content.

Each function maps something a request or task carries (a header, an exception, a return value)
onto a member of a set fixed by the site's code or settings, or onto a fixed placeholder:

- :func:`site_language`: one of ``settings.LANGUAGES``' codes, chosen from ``Accept-Language``
  the way Django's ``LocaleMiddleware`` does, or ``None``;
- :func:`exception_name`: the name of an exception class reachable by that name in its
  (imported) module, else :data:`PLACEHOLDER`;
- :func:`int64_or_one`: an ``int`` within int64 (what OTLP and GA carry), else 1.

All are linear in their input and do no I/O: they run on request and task threads.
"""

from __future__ import annotations

import sys
from typing import Any

# The exporter's own checks (its mappings apply them too): one definition of "code".
from opentelemetry.exporter.google_analytics import int64_or_one, is_code_name

__all__ = ["PLACEHOLDER", "exception_name", "int64_or_one", "is_code_name", "site_language"]

#: Sent as a task's ``result`` for an exception that isn't named by a class that is code.
PLACEHOLDER = "Error"


def site_language(header: Any) -> str | None:
    """The site language (a code of ``settings.LANGUAGES``) the visitor prefers most, or ``None``.

    Django's own ``Accept-Language`` parsing (q-weights, the header cut at Django's limit, both
    cached) and ``get_supported_language_variant`` against ``settings.LANGUAGES``, as
    ``LocaleMiddleware`` does; ``*`` ends the search, as there.
    """
    if not isinstance(header, str) or not header:
        return None
    from django.utils.translation import trans_real

    offered = trans_real.get_languages()  # dict(settings.LANGUAGES), cached by Django
    for code, _q in trans_real.parse_accept_lang_header(header):
        if code == "*":
            break
        if not trans_real.language_code_re.search(code):
            continue
        try:
            found = trans_real.get_supported_language_variant(code)
        except LookupError:
            continue
        # get_supported_language_variant answers from LANGUAGES; checked again, it is cheap.
        if found in offered:
            return str(found)
    return None


def exception_name(exception: BaseException | None) -> str:
    """The exception's class name if the class is code, else :data:`PLACEHOLDER`; never its text.

    Code means: its module is imported (``sys.modules``; nothing is imported here) and following
    its ``__qualname__`` from that module reaches this very class. A class made at run time
    (``type(name, ...)``, one defined inside a function) fails that. Celery's
    ``UnpickleableExceptionWrapper`` names the class by strings: they are looked up alike.
    """
    if exception is None:
        return PLACEHOLDER
    cls = type(exception)
    if cls.__name__ == "UnpickleableExceptionWrapper":
        return _wrapped_name(exception)
    module = sys.modules.get(getattr(cls, "__module__", None) or "")
    qualname = getattr(cls, "__qualname__", None)
    if module is None or not is_code_name(qualname) or not is_code_name(cls.__name__):
        return PLACEHOLDER
    found: Any = module
    for part in str(qualname).split("."):
        # The namespace's own dict: getattr could run a module's __getattr__ or a descriptor.
        namespace = getattr(found, "__dict__", None)
        if not isinstance(namespace, dict) and type(namespace).__name__ != "mappingproxy":
            return PLACEHOLDER
        found = namespace.get(part) if namespace is not None else None
    return cls.__name__ if found is cls else PLACEHOLDER


def _wrapped_name(wrapper: BaseException) -> str:
    # Celery's stand-in for an exception it can't pickle holds the class's module and name as
    # strings only: the name is sent if that module, imported, holds an exception class of that
    # name defined there (so a string can't name anything but code).
    module_name, name = getattr(wrapper, "exc_module", None), getattr(wrapper, "exc_cls_name", None)
    module = sys.modules.get(module_name) if isinstance(module_name, str) else None
    if module is None or not is_code_name(name) or "." in str(name):
        return PLACEHOLDER
    found = vars(module).get(str(name))
    if isinstance(found, type) and issubclass(found, BaseException) and found.__name__ == name \
            and found.__module__ == module_name:
        return str(name)
    return PLACEHOLDER
