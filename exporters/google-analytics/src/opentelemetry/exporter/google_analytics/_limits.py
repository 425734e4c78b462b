"""Google's published GA4 Measurement Protocol limits, enforced before anything is sent.

Sources (checked 2026-11):

- Limitations section of "Send Measurement Protocol events to Google Analytics",
  https://developers.google.com/analytics/devguides/collection/protocol/ga4/sending-events
  (25 events per request, 25 params per event, 25 user properties, name rules and lengths,
  100-character param values, 36-character user property values, body under 130 kB, events
  backdated up to 72 hours, and the reserved event, parameter and user property names below);
- "Measurement Protocol reference", payload fields,
  https://developers.google.com/analytics/devguides/collection/protocol/ga4/reference ;
- "Validate events", the validation server's answer format (``validationMessages`` of
  ``fieldPath``, ``description``, ``validationCode``),
  https://developers.google.com/analytics/devguides/collection/protocol/ga4/validating-events .

:func:`sanitize_event` makes an event fit (truncating values, dropping what cannot be fixed and
counting it in a :class:`DropCounter`). The test helpers' validator
(:mod:`~opentelemetry.exporter.google_analytics.testing._validator`) reads the same sources on its
own, so tests and the demo can prove every hit valid.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping
from functools import lru_cache, partial

from opentelemetry.exporter.google_analytics._drops import DropCounter
from opentelemetry.exporter.google_analytics._events import GAEvent, ParamValue

__all__ = [
    "MAX_BODY_BYTES", "MAX_EVENTS_PER_REQUEST", "MAX_EVENT_AGE_SECONDS", "MAX_NAME_LENGTH",
    "MAX_PARAMS_PER_EVENT", "MAX_PARAM_VALUE_LENGTH", "MAX_USER_PROPERTIES",
    "MAX_USER_PROPERTY_NAME_LENGTH", "MAX_USER_PROPERTY_VALUE_LENGTH", "RESERVED_EVENT_NAMES",
    "RESERVED_PARAM_NAMES", "RESERVED_PREFIXES", "RESERVED_USER_PROPERTY_NAMES", "clean_text",
    "sanitize_event", "sanitize_events", "sanitize_user_properties",
]

MAX_EVENTS_PER_REQUEST = 25
MAX_PARAMS_PER_EVENT = 25
MAX_USER_PROPERTIES = 25
MAX_NAME_LENGTH = 40
"""Event and parameter names."""
MAX_USER_PROPERTY_NAME_LENGTH = 24
MAX_PARAM_VALUE_LENGTH = 100
MAX_USER_PROPERTY_VALUE_LENGTH = 36
MAX_BODY_BYTES = 130_000
"""The post body must be smaller than this ("130kB"; read as decimal kilobytes, the safe side)."""
MAX_EVENT_AGE_SECONDS = 72 * 3600
"""Events can be backdated up to 72 hours."""

#: Names start with a letter, then letters, digits and underscores (matched whole: ``$`` would
#: let a trailing newline through).
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*")

#: Event names the Measurement Protocol refuses (reserved for automatically collected events).
RESERVED_EVENT_NAMES = frozenset({
    "ad_activeview", "ad_click", "ad_exposure", "ad_impression", "ad_query", "ad_reward",
    "adunit_exposure", "app_clear_data", "app_exception", "app_install", "app_remove",
    "app_store_refund", "app_update", "app_upgrade", "dynamic_link_app_open",
    "dynamic_link_app_update", "dynamic_link_first_open", "error", "firebase_campaign",
    "firebase_in_app_message_action", "firebase_in_app_message_dismiss",
    "firebase_in_app_message_impression", "first_open", "first_visit", "in_app_purchase",
    "notification_dismiss", "notification_foreground", "notification_open",
    "notification_receive", "notification_send", "os_update", "session_start", "user_engagement",
})

#: Prefixes reserved for event names, parameter names and user property names.
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_")
#: Parameter names reserved outright (beyond the prefixes). None are published for MP today.
RESERVED_PARAM_NAMES: frozenset[str] = frozenset()
#: User property names the Measurement Protocol refuses.
RESERVED_USER_PROPERTY_NAMES = frozenset({
    "first_open_time", "first_visit_time", "last_deep_link_referrer", "user_id",
    "first_open_after_install",
})

# --- names ---------------------------------------------------------------------------------------


def _name_problem(name: object, max_length: int, reserved: frozenset[str]) -> str | None:
    if not isinstance(name, str) or not name:
        return "NAME_INVALID"
    return _str_name_problem(name, max_length, reserved)


@lru_cache(maxsize=4096)
def _str_name_problem(name: str, max_length: int, reserved: frozenset[str]) -> str | None:
    # Cached: the same few names come by for every event.
    if name.startswith(RESERVED_PREFIXES) or name in reserved:
        return "NAME_RESERVED"
    if len(name) > max_length or not NAME_PATTERN.fullmatch(name):
        return "NAME_INVALID"
    return None


_event_name_problem = partial(_name_problem, max_length=MAX_NAME_LENGTH, reserved=RESERVED_EVENT_NAMES)
_param_name_problem = partial(_name_problem, max_length=MAX_NAME_LENGTH, reserved=RESERVED_PARAM_NAMES)
_user_property_name_problem = partial(
    _name_problem, max_length=MAX_USER_PROPERTY_NAME_LENGTH, reserved=RESERVED_USER_PROPERTY_NAMES
)

#: Event and param names found valid so far, for a set lookup per name instead of the checks:
#: the same few names come by for every event. Bounded: past it, names are checked each time.
_VALID_EVENT_NAMES: set[str] = set()
_VALID_PARAM_NAMES: set[str] = set()
_MAX_VALID_NAMES = 4096


# --- sanitizing ----------------------------------------------------------------------------------

#: Params the exporter itself adds for GA's Realtime report: kept first when params are cut.
_PRIORITY_PARAMS = ("engagement_time_msec", "session_id")


#: Invisible format characters kept by :func:`clean_text`: the zero-width joiner and non-joiner
#: are part of emoji sequences and of the spelling of words in several scripts.
_KEPT_FORMAT_CHARACTERS = frozenset("\u200c\u200d")


def _clean_char(char: str) -> str:
    category = unicodedata.category(char)
    if char.isspace():
        return " "  # tabs, newlines, U+0085, U+2028...: a space, so words stay apart
    if category == "Cs":
        return "\ufffd"  # a lone surrogate (bytes decoded with surrogateescape): not encodable
    if category in {"Cc", "Cf"} and char not in _KEPT_FORMAT_CHARACTERS:
        return ""  # C0/C1 controls, ANSI escapes' ESC, bidi overrides, zero-width spaces, BOM
    return char


def clean_text(text: str, max_length: int | None = None) -> str:
    """Return ``text`` as printable, valid UTF-8 text of at most ``max_length`` characters.

    Control characters (C0, DEL, C1) and invisible format characters (bidi overrides, zero-width
    spaces, BOM) are removed, whitespace of any kind becomes a space, and a lone surrogate, which
    no UTF-8 encoder accepts, becomes U+FFFD. GA would show the first as garbage in reports, and
    the last would make the whole request body unencodable.
    """
    if text.isprintable():  # the common case, checked at C speed
        return text if max_length is None else text[:max_length]
    if max_length is not None:
        # Bounded work on a 10 MB value: removals can shorten the text, hence the margin.
        text = text[: 4 * max_length + 16]
    cleaned = "".join(_clean_char(char) for char in text)
    return cleaned if max_length is None else cleaned[:max_length]


def _clean_value(value: object, max_length: int) -> ParamValue | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value, max_length)
    return None


#: Strings found to fit as they are (at most 100 characters, printable), for a set lookup instead
#: of the checks, which read every character: the same routes, titles, languages and session ids
#: come by for every event. Only an exact ``str`` is looked up (a subclass could fake equality).
_FIT_STRINGS: set[str] = set()
_MAX_FIT_STRINGS = 4096
_MAX_AGE_MICROS = MAX_EVENT_AGE_SECONDS * 1_000_000


def sanitize_events(events: Iterable[GAEvent | None], drops: DropCounter | None = None,
                    now_micros: int | None = None) -> list[GAEvent]:
    """:func:`sanitize_event` of each of ``events`` (a ``None`` skipped): the ones that can be
    sent, in order. One clock reading for all, and the common event (known names, values known
    to fit, in time) passes on checks made here, in the loop: once per span, a call costs more
    than the checks (issue 13). Any other event gets :func:`sanitize_event`'s whole treatment."""
    now = now_micros if now_micros is not None else time.time_ns() // 1000
    oldest = now - _MAX_AGE_MICROS
    event_names, param_names, fit = _VALID_EVENT_NAMES, _VALID_PARAM_NAMES, _FIT_STRINGS
    kept = []
    for event in events:
        if event is None:
            continue
        name, params, timestamp = event[0], event[1], event[2]
        if type(name) is str and name in event_names and type(timestamp) is int \
                and oldest <= timestamp <= now and len(params) <= MAX_PARAMS_PER_EVENT \
                and param_names.issuperset(params):
            for value in params.values():
                kind = type(value)
                if not ((kind is str and value in fit) or kind is int):
                    break
            else:
                kept.append(event)
                continue
        fitted = sanitize_event(event, drops, now)
        if fitted is not None:
            kept.append(fitted)
    return kept


def sanitize_event(
    event: GAEvent, drops: DropCounter | None = None, now_micros: int | None = None
) -> GAEvent | None:
    """Return ``event`` made to fit Google's limits, or ``None`` when it cannot be sent.

    Values too long are truncated and strings are made printable, valid UTF-8
    (:func:`clean_text`); a param with a bad or reserved name or an unsendable value
    (a list, NaN, None) is dropped; an event with a bad or reserved name, or older than 72 hours,
    is dropped. Every drop is counted in ``drops`` by reason. The input is never modified.
    """
    counter = drops if drops is not None else _NULL_COUNTER
    if not (type(event.name) is str and event.name in _VALID_EVENT_NAMES):
        problem = _event_name_problem(event.name)
        if problem is not None:
            counter.add("event name reserved" if problem == "NAME_RESERVED" else "event name invalid")
            return None
        if len(_VALID_EVENT_NAMES) < _MAX_VALID_NAMES:
            _VALID_EVENT_NAMES.add(event.name)
    now = now_micros if now_micros is not None else time.time_ns() // 1000
    timestamp = event.timestamp_micros
    if not isinstance(timestamp, int) or now - timestamp > _MAX_AGE_MICROS:
        counter.add("event older than 72 hours")
        return None
    changed = False
    if timestamp > now:
        timestamp = now  # clock skew between threads; GA wants no future events
        changed = True
    valid_names = _VALID_PARAM_NAMES
    given = event.params
    params: dict[str, ParamValue] = {}
    for name, value in given.items():
        if name not in valid_names:
            if _param_name_problem(name) is not None:
                counter.add("param name invalid or reserved")
                changed = True
                continue
            if len(valid_names) < _MAX_VALID_NAMES:
                valid_names.add(name)
        kind = type(value)
        if kind is int:
            params[name] = value  # the common cases, kept cheap
            continue
        if kind is str and len(value) <= MAX_PARAM_VALUE_LENGTH and value.isprintable():  # type: ignore[arg-type,union-attr]
            params[name] = value
            if len(_FIT_STRINGS) >= _MAX_FIT_STRINGS:
                _FIT_STRINGS.clear()  # bounded: the values of today's routes come back
            _FIT_STRINGS.add(value)  # type: ignore[arg-type]
            continue
        clean = _clean_value(value, MAX_PARAM_VALUE_LENGTH)
        if clean is None:
            counter.add("param value not a string or finite number")
            changed = True
            continue
        if clean is not value:
            changed = True
        params[name] = clean
    if len(params) > MAX_PARAMS_PER_EVENT:
        counter.add("params over 25 per event", len(params) - MAX_PARAMS_PER_EVENT)
        first = [k for k in _PRIORITY_PARAMS if k in params]
        rest = [k for k in params if k not in _PRIORITY_PARAMS]
        params = {k: params[k] for k in (first + rest)[:MAX_PARAMS_PER_EVENT]}
        changed = True
    if not changed:
        return event
    return event._replace(params=params, timestamp_micros=timestamp)


def sanitize_user_properties(
    properties: Mapping[str, object], drops: DropCounter | None = None
) -> dict[str, dict[str, ParamValue]]:
    """Return ``properties`` as the payload's ``user_properties``, within Google's limits."""
    counter = drops if drops is not None else _NULL_COUNTER
    result: dict[str, dict[str, ParamValue]] = {}
    for name, value in properties.items():
        if isinstance(value, Mapping):
            value = value.get("value")
        if _user_property_name_problem(name) is not None:
            counter.add("user property name invalid or reserved")
            continue
        clean = _clean_value(value, MAX_USER_PROPERTY_VALUE_LENGTH)
        if clean is None:
            counter.add("user property value not a string or finite number")
            continue
        if len(result) >= MAX_USER_PROPERTIES:
            counter.add("user properties over 25")
            continue
        result[name] = {"value": clean}
    return result


class _NullCounter(DropCounter):
    def add(self, reason: str, count: int = 1, *, log: bool = True) -> None:
        pass


_NULL_COUNTER = _NullCounter()
