"""Regression tests for the distro's side of the hostile-input fixes: printable titles, the class
name of an exception Celery could not pickle, and the WSGI helper's Latin-1 path bug."""

from __future__ import annotations

import itertools
import pickle
from typing import Any

import pytest
from celery.utils.serialization import UnpickleableExceptionWrapper
from django.test import RequestFactory

from otel_aa import _celery_hooks as celery_hooks
from otel_aa import _lean as lean
from otel_aa._titles import html_title


def _title(text: str) -> str | None:
    return html_title(f"<html><head><title>{text}</title></head>".encode("utf-8", "surrogatepass"))


def test_html_titles_lose_control_and_invisible_characters():
    # The opt-in HTML title mode; the default mode sends view names, which are code.
    assert _title("Fleet\x00\x01\x07\x1b[31m\x7f ops\r\n\tboard\x0b\x0c") == "Fleet[31m ops board"
    assert _title("\u202eevil\u202c \u200b\u2028\ufeff title") == "evil title"
    assert _title("caf\ud800") == "caf\ufffd\ufffd\ufffd"


class _TwoArgs(Exception):
    def __init__(self, what: str, code: int) -> None:
        super().__init__(what)
        self.code = code


def test_exception_class_name_unwraps_celerys_unpicklable_wrapper():
    with pytest.raises(TypeError):
        pickle.loads(pickle.dumps(_TwoArgs("x", 1)))
    wrapped = UnpickleableExceptionWrapper.from_exception(_TwoArgs("secret text", 1))
    assert celery_hooks.exception_class_name(wrapped) == "_TwoArgs"
    assert celery_hooks.exception_class_name(ValueError("secret text")) == "ValueError"
    assert celery_hooks.exception_class_name(None) == "Error"


def _layers(func: Any) -> list[Any]:
    found = []
    while func is not None:
        found.append(func)
        func = getattr(func, "__wrapped__", None)
    return found


def test_collect_request_attributes_survives_a_path_beyond_latin_1():
    from opentelemetry.instrumentation.django.middleware import otel_middleware

    lean.fix_non_latin1_paths()
    lean.fix_non_latin1_paths()  # idempotent: wrapped once
    collect = otel_middleware.wsgi_collect_request_attributes
    assert collect._otel_aa_latin1
    layers = _layers(collect)
    # The fix is one layer (the lean wrapper, when on, sits outside it and copies its marker).
    fixes = [f for f, inner in itertools.pairwise(layers) if f.__dict__.get("_otel_aa_latin1")
             and not inner.__dict__.get("_otel_aa_latin1")]
    assert len(fixes) == 1
    fix, upstream = fixes[0], fixes[0].__wrapped__

    request = RequestFactory().get("/any/\u00e9\u6f22\U0001f680/")
    assert request.META["PATH_INFO"] == "/any/\u00e9\u6f22\U0001f680/"  # Django's decoded form
    with pytest.raises(UnicodeEncodeError):
        upstream(request.META)  # the upstream helper alone
    attributes = fix(request.META)
    assert attributes["http.url"].endswith("/any/%C3%A9%E6%BC%A2%F0%9F%9A%80/")
    assert request.META["PATH_INFO"] == "/any/\u00e9\u6f22\U0001f680/"  # the request is untouched
