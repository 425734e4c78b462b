"""The test helpers' validator is an oracle of its own: it agrees with the sanitizer by reading
Google's rules separately, not by sharing its code."""

from __future__ import annotations

import ast
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.google_analytics import _limits as limits
from opentelemetry.exporter.google_analytics._drops import DropCounter
from opentelemetry.exporter.google_analytics._events import GAEvent
from opentelemetry.exporter.google_analytics._limits import sanitize_event, sanitize_user_properties
from opentelemetry.exporter.google_analytics.testing import _validator as validator
from opentelemetry.exporter.google_analytics.testing import validate_payload

NOW = time.time_ns() // 1000


def test_the_validator_imports_nothing_of_the_exporter() -> None:
    tree = ast.parse(Path(validator.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not [name for name in imported if "google_analytics" in name], imported


def test_a_name_with_a_trailing_newline_is_invalid_to_both() -> None:
    # A regex anchored with "$" matches before a final newline: the sanitizer once let these by.
    drops = DropCounter()
    assert sanitize_event(GAEvent("page_view\n", {}, NOW, "page_views"), drops, NOW) is None
    clean = sanitize_event(GAEvent("page_view", {"p\n": "v", "ok": "v"}, NOW, "page_views"), drops, NOW)
    assert clean is not None and dict(clean.params) == {"ok": "v"}
    assert sanitize_user_properties({"u\n": "v"}, drops) == {}
    assert drops.snapshot() == {"event name invalid": 1, "param name invalid or reserved": 1,
                                "user property name invalid or reserved": 1}
    body = {"client_id": "c", "user_properties": {"u\n": {"value": "v"}},
            "events": [{"name": "page_view\n", "params": {"p\n": "v"}}]}
    assert {(m["fieldPath"], m["validationCode"]) for m in validate_payload(body, NOW)} == {
        ("user_properties.u\n", "NAME_INVALID"), ("events[0]", "NAME_INVALID"),
        ("events[0].params.p\n", "NAME_INVALID"),
    }


def test_an_unhashable_consent_value_is_reported_not_raised() -> None:
    messages = validate_payload({"client_id": "c", "consent": {"ad_user_data": ["GRANTED"]},
                                 "events": [{"name": "e", "params": {}}]}, NOW)
    found = [(m["fieldPath"], m["validationCode"]) for m in messages]
    assert found == [("consent.ad_user_data", "VALUE_INVALID")]


_names = st.one_of(
    st.text(max_size=45),
    st.text(alphabet="abZ09_.\n -é", max_size=45),
    st.builds(lambda prefix, rest: prefix + rest,
              st.sampled_from(["", "_", "ga_", "google_", "firebase_", "gtag.", "a", "1"]),
              st.from_regex(r"[A-Za-z0-9_]{0,44}", fullmatch=True)),
    st.sampled_from(sorted(limits.RESERVED_EVENT_NAMES | limits.RESERVED_USER_PROPERTY_NAMES)),
)


@settings(max_examples=400, deadline=None)
@given(_names)
def test_sanitizer_and_validator_agree_on_every_name(name: str) -> None:
    kept_event = sanitize_event(GAEvent(name, {}, NOW, "page_views"), None, NOW) is not None
    event_ok = validate_payload({"client_id": "c", "events": [{"name": name, "params": {}}]}, NOW) == []
    assert kept_event == event_ok, name
    sanitized = sanitize_event(GAEvent("e", {name: 1}, NOW, "page_views"), None, NOW)
    assert sanitized is not None
    param_ok = validate_payload({"client_id": "c", "events": [{"name": "e", "params": {name: 1}}]}, NOW) == []
    assert (name in sanitized.params) == param_ok, name
    kept_property = name in sanitize_user_properties({name: "v"})
    property_ok = validate_payload({"client_id": "c", "user_properties": {name: {"value": "v"}},
                                    "events": [{"name": "e", "params": {}}]}, NOW) == []
    assert kept_property == property_ok, name
