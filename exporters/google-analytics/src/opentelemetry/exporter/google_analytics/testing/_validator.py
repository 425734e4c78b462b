"""An independent check of Measurement Protocol request bodies, as Google's validation server reports.

The rules are transcribed here from Google's published documentation, not imported from the
sanitizer (:mod:`~opentelemetry.exporter.google_analytics._limits`): a test that sends through the
sanitizer and checks with this module compares two readings of Google's rules, so a slip in
either shows. Sources (checked 2026-11):

- Limitations section of "Send Measurement Protocol events to Google Analytics",
  https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events ;
- "Measurement Protocol reference", payload fields,
  https://developers.google.com/analytics/devguides/collection/protocol/ga4/reference ;
- "Validate events" (``validationMessages`` of ``fieldPath``, ``description``,
  ``validationCode``),
  https://developers.google.com/analytics/devguides/collection/protocol/ga4/validating-events .
"""

from __future__ import annotations

import json
import math
import string
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

__all__ = ["ValidationMessage", "validate_payload"]

_BODY_LIMIT = 130_000  # "The post body must be smaller than 130kB" (decimal: the strict reading)
_MAX_EVENTS = 25
_MAX_PARAMS = 25
_MAX_USER_PROPERTIES = 25
_PARAM_VALUE_LIMIT = 100
_USER_PROPERTY_VALUE_LIMIT = 36
_BACKDATE_LIMIT_MICROS = 72 * 3600 * 1_000_000

_FIRST_CHARACTERS = frozenset(string.ascii_letters)
_NAME_CHARACTERS = frozenset(string.ascii_letters + string.digits + "_")
_CONSENT_FIELDS = ("ad_user_data", "ad_personalization")


@dataclass(frozen=True)
class _NameRule:
    """Google's rule for one kind of name: length, reserved names, reserved prefixes."""

    kind: str
    max_length: int
    reserved: frozenset[str]
    prefixes: tuple[str, ...]


#: Reserved for automatically collected events ("Reserved event names" in the limitations).
_RESERVED_EVENT_NAMES = frozenset({
    "ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query", "ad_reward",
    "adunit_exposure", "app_clear_data", "app_exception", "app_install", "app_remove",
    "app_store_refund", "app_update", "app_upgrade", "dynamic_link_app_open",
    "dynamic_link_app_update", "dynamic_link_first_open", "error", "firebase_campaign",
    "firebase_in_app_message_action", "firebase_in_app_message_dismiss",
    "firebase_in_app_message_impression", "first_open", "first_visit", "in_app_purchase",
    "notification_dismiss", "notification_foreground", "notification_open",
    "notification_receive", "notification_send", "os_update", "session_start", "user_engagement",
})
_RESERVED_USER_PROPERTY_NAMES = frozenset({
    "first_open_time", "first_visit_time", "last_deep_link_referrer", "user_id",
    "first_open_after_install",
})
_NAME_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")

_EVENT_NAMES = _NameRule("Event name", 40, _RESERVED_EVENT_NAMES, _NAME_PREFIXES)
_PARAM_NAMES = _NameRule("Param name", 40, frozenset(), _NAME_PREFIXES)
_USER_PROPERTY_NAMES = _NameRule("User property name", 24, _RESERVED_USER_PROPERTY_NAMES, _NAME_PREFIXES[:4])


class ValidationMessage(TypedDict):
    """One entry of the validation server's ``validationMessages``, in Google's field names."""

    fieldPath: str
    description: str
    validationCode: str


def _msg(path: str, description: str, code: str) -> ValidationMessage:
    return {"fieldPath": path, "description": description, "validationCode": code}


def _name(path: str, rule: _NameRule, name: object, out: list[ValidationMessage]) -> None:
    # Reserved before invalid, as the validation server answers a reserved name.
    if isinstance(name, str) and (name in rule.reserved or any(name.startswith(p) for p in rule.prefixes)):
        out.append(_msg(path, f"{rule.kind} [{name}] is reserved.", "NAME_RESERVED"))
        return
    well_formed = (
        isinstance(name, str)
        and 0 < len(name) <= rule.max_length
        and name[0] in _FIRST_CHARACTERS
        and all(char in _NAME_CHARACTERS for char in name)
    )
    if not well_formed:
        out.append(_msg(path, f"{rule.kind} [{name}] is invalid: names start with a letter, hold "
                              f"only letters, digits and underscores, and have at most "
                              f"{rule.max_length} characters.", "NAME_INVALID"))


def _value(path: str, value: object, limit: int, out: list[ValidationMessage]) -> None:
    if type(value) is str:
        if len(value) > limit:
            out.append(_msg(path, f"Value at [{path}] is longer than {limit} characters.", "VALUE_INVALID"))
    elif type(value) is float:
        if not math.isfinite(value):
            out.append(_msg(path, f"Value at [{path}] is not a finite number.", "VALUE_INVALID"))
    elif type(value) is not int:  # bool, None, lists and objects are no param value
        out.append(_msg(path, f"Value at [{path}] must be a string or a number.", "VALUE_INVALID"))


def _timestamp(path: str, value: object, now: int, out: list[ValidationMessage]) -> None:
    if type(value) is not int:
        out.append(_msg(path, f"Value at [{path}] must be an integer.", "VALUE_INVALID"))
    elif value < now - _BACKDATE_LIMIT_MICROS:
        out.append(_msg(path, f"Timestamp at [{path}] is more than 72 hours in the past.", "VALUE_INVALID"))


def _event(index: int, event: object, now: int, out: list[ValidationMessage]) -> None:
    path = f"events[{index}]"
    if not isinstance(event, Mapping):
        out.append(_msg(path, f"Event at index: [{index}] is not an object.", "VALUE_INVALID"))
        return
    if event.get("name") is None:
        out.append(_msg(path, f"Event at index: [{index}] has no name.", "VALUE_REQUIRED"))
    else:
        _name(path, _EVENT_NAMES, event["name"], out)
    if "timestamp_micros" in event:
        _timestamp(f"{path}.timestamp_micros", event["timestamp_micros"], now, out)
    params = event.get("params", {})
    if not isinstance(params, Mapping):
        out.append(_msg(f"{path}.params", "Params must be an object.", "VALUE_INVALID"))
        return
    if len(params) > _MAX_PARAMS:
        out.append(_msg(f"{path}.params", f"Event at index: [{index}] has more than {_MAX_PARAMS} params.",
                        "EXCEEDED_MAX_ENTITIES"))
    for name, value in params.items():
        _name(f"{path}.params.{name}", _PARAM_NAMES, name, out)
        _value(f"{path}.params.{name}", value, _PARAM_VALUE_LIMIT, out)


def _user_properties(properties: object, out: list[ValidationMessage]) -> None:
    if not isinstance(properties, Mapping):
        out.append(_msg("user_properties", "Must be an object.", "VALUE_INVALID"))
        return
    if len(properties) > _MAX_USER_PROPERTIES:
        out.append(_msg("user_properties", f"More than {_MAX_USER_PROPERTIES} user properties.",
                        "EXCEEDED_MAX_ENTITIES"))
    for name, prop in properties.items():
        path = f"user_properties.{name}"
        _name(path, _USER_PROPERTY_NAMES, name, out)
        if isinstance(prop, Mapping) and "value" in prop:
            _value(f"{path}.value", prop["value"], _USER_PROPERTY_VALUE_LIMIT, out)
        else:
            out.append(_msg(path, "A user property is an object with a value.", "VALUE_REQUIRED"))


def _consent(consent: object, out: list[ValidationMessage]) -> None:
    if not isinstance(consent, Mapping):
        out.append(_msg("consent", "Must be an object.", "VALUE_INVALID"))
        return
    for key, value in consent.items():
        if key not in _CONSENT_FIELDS or value not in ("GRANTED", "DENIED"):
            out.append(_msg(f"consent.{key}", "Consent fields are ad_user_data and ad_personalization, "
                            "GRANTED or DENIED.", "VALUE_INVALID"))


def validate_payload(body: object, now_micros: int | None = None) -> list[ValidationMessage]:
    """Check a request body against Google's published rules; ``[]`` when it is valid.

    Messages use the validation server's format and codes (``NAME_INVALID``, ``NAME_RESERVED``,
    ``VALUE_INVALID``, ``VALUE_REQUIRED``, ``EXCEEDED_MAX_ENTITIES``).
    """
    if not isinstance(body, Mapping):
        return [_msg("", "The request body must be a JSON object.", "VALUE_INVALID")]
    now = now_micros if now_micros is not None else time.time_ns() // 1000
    out: list[ValidationMessage] = []
    if len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()) >= _BODY_LIMIT:
        out.append(_msg("", f"The post body must be smaller than {_BODY_LIMIT} bytes.", "VALUE_INVALID"))
    client_id = body.get("client_id")
    if not isinstance(client_id, str) or not client_id:
        out.append(_msg("client_id", "client_id is required and must be a string.", "VALUE_REQUIRED"))
    if "timestamp_micros" in body:
        _timestamp("timestamp_micros", body["timestamp_micros"], now, out)
    if "non_personalized_ads" in body and type(body["non_personalized_ads"]) is not bool:
        out.append(_msg("non_personalized_ads", "Must be a boolean.", "VALUE_INVALID"))
    _consent(body.get("consent", {}), out)
    _user_properties(body.get("user_properties", {}), out)
    events = body.get("events")
    if not isinstance(events, list) or not events:
        out.append(_msg("events", "At least one event is required.", "VALUE_REQUIRED"))
        return out
    if len(events) > _MAX_EVENTS:
        out.append(_msg("events", f"A request can have at most {_MAX_EVENTS} events.",
                        "EXCEEDED_MAX_ENTITIES"))
    for index, event in enumerate(events):
        _event(index, event, now, out)
    return out


def _validate_hit(body: Any, raw: bytes) -> list[ValidationMessage]:
    """What the collector answers for a request: the body's messages, judged on the bytes sent."""
    if body is None:
        return [_msg("", "The body is not JSON.", "VALUE_INVALID")]
    messages = validate_payload(body)
    if len(raw) >= _BODY_LIMIT and not messages:
        messages = [_msg("", "The post body is too large.", "VALUE_INVALID")]
    return messages
