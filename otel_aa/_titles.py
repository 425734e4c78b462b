"""The page title GA gets: code by default, the HTML title only by explicit opt-in and k-anonymity.

:envvar:`OTEL_AA_PAGE_TITLE` ``view_name`` (the default): the resolved route's view name, e.g.
``authentication:dashboard``, the same for every visitor and language, read from
``request.resolver_match``; the response body is not looked at.

``html``: the text of the document's ``<title>`` for a route is sent only once it was seen for
that route from :envvar:`OTEL_AA_PAGE_TITLE_K` distinct visitors; until then, the view name. A
title that quotes the visitor (their name, search, Referer, cookie) is seen from that visitor only,
so it stays below k. Visitors are told apart by a keyed hash (a random per-process key, never sent
or stored) of the loaded user's id, else the session cookie, else the client address; the counts
live in a bounded LRU of :data:`MAX_TRACKED_TITLES` (route, title) entries, each holding at most k
hashes. Title extraction is one forward scan of the first :data:`HEAD_BYTES` bytes (``find`` only,
no regular expression on the content), skipping comments, ``<svg>``/``<math>``, raw-text elements
and ``<template>``, and giving nothing for a fragment without ``<html>``, ``<head>`` or a doctype.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import threading
from collections import OrderedDict
from typing import Any

from opentelemetry.exporter.google_analytics import clean_text

from otel_aa import _config as config

__all__ = ["HEAD_BYTES", "MAX_TRACKED_TITLES", "html_title", "page_title", "view_title"]

#: How much of an HTML response the title is looked for in (``html`` mode): ``<title>`` sits in
#: ``<head>``.
HEAD_BYTES = 4096
#: (route, title) entries the ``html`` mode keeps visitor counts for; the least recent goes first.
MAX_TRACKED_TITLES = 4096

# Elements whose content is not the document's title even if it holds a <title>: foreign content
# (an SVG's or MathML's accessible name), raw text, and inert templates.
_SKIPPED = (b"svg", b"math", b"script", b"style", b"template", b"textarea", b"noscript", b"xmp")
_DOCUMENT_START = (b"<!doctype", b"<html", b"<head")
_TAG_END = frozenset(b" \t\n\r\f/>")
_KEY = os.urandom(32)


def view_title(match: Any, max_length: int | None = None) -> str | None:
    """The route's view name (code: URL names and namespaces from the URLconf), or ``None``; at
    most ``max_length`` characters (default: :envvar:`OTEL_AA_TITLE_MAX_LENGTH`).

    Admin pages are named by the admin's ``app_name`` and URL name (``admin:auth_user_change``):
    an admin site's instance namespace is whatever its ``name`` is.
    """
    if match is None:
        return None
    if "admin" in (getattr(match, "app_names", None) or ()):
        url_name = getattr(match, "url_name", None)
        return f"admin:{url_name}" if isinstance(url_name, str) and url_name else "admin"
    name = getattr(match, "view_name", None)
    if not isinstance(name, str):
        return None
    return clean_text(name, config.current().title_max_length if max_length is None else max_length) or None


def page_title(request: Any, response: Any, content_type: str,
               settings: config.Config | None = None) -> str | None:
    """The ``html`` mode's title for this response: the HTML title once k visitors saw it, else
    the view name. Called only after the view name was recorded (it may raise; the guard holds)."""
    settings = config.current() if settings is None else settings
    fallback = view_title(getattr(request, "resolver_match", None), settings.title_max_length)
    if settings.page_title_mode != "html" or getattr(response, "streaming", False):
        return fallback
    text = html_title(getattr(response, "content", b""), content_type, getattr(response, "charset", None),
                      settings.title_max_length)
    if not text or text == fallback:
        return fallback
    route = getattr(getattr(request, "resolver_match", None), "route", None)
    k = settings.page_title_k
    if not isinstance(route, str) or k is None:
        return fallback
    return text if _SEEN.admit(route, text, _visitor(request), k) else fallback


def html_title(content: Any, content_type: str = "", charset: Any = None,
               max_length: int | None = None) -> str | None:
    """The document title in the first :data:`HEAD_BYTES` of ``content``, cleaned, at most
    ``max_length`` characters (default: :envvar:`OTEL_AA_TITLE_MAX_LENGTH`), or ``None``."""
    head = bytes(content[:HEAD_BYTES]) if isinstance(content, (bytes, bytearray, memoryview)) else b""
    raw = _scan(head)
    if raw is None:
        return None
    encoding = _charset(content_type) or (charset if isinstance(charset, str) else None) or "utf-8"
    try:
        text = raw.decode(encoding, errors="replace")
    except LookupError:
        text = raw.decode("utf-8", errors="replace")
    # Printable first (clean_text turns odd white space into spaces), then collapsed; the text is
    # at most HEAD_BYTES long, so each step is bounded.
    text = " ".join(clean_text(html.unescape(text)).split())
    limit = config.current().title_max_length if max_length is None else max_length
    return text[:limit].strip() or None


def _charset(content_type: str) -> str | None:
    lowered = content_type.lower()
    at = lowered.find("charset=")
    if at < 0:
        return None
    value = content_type[at + len("charset="):].split(";", 1)[0].strip().strip("\"'")
    return value or None


def _is_tag(low: bytes, at: int, name: bytes) -> bool:
    end = at + 1 + len(name)
    return low.startswith(name, at + 1) and (end >= len(low) or low[end] in _TAG_END)


def _scan(head: bytes) -> bytes | None:
    """One forward pass with ``find``: each byte is looked at a bounded number of times."""
    low = head.lower()  # ASCII-only lowering: the offsets stay those of ``head``
    document = False
    i = 0
    while True:
        lt = low.find(b"<", i)
        if lt < 0:
            return None
        if low.startswith(b"<!--", lt):
            end = low.find(b"-->", lt + 4)
            if end < 0:
                return None
            i = end + 3
            continue
        if low.startswith(_DOCUMENT_START, lt):
            document = True
        elif _is_tag(low, lt, b"body"):
            return None  # the title belongs to the head
        elif _is_tag(low, lt, b"title"):
            if not document:
                return None  # a fragment (htmx, AJAX): its <title> is not the page's
            start = low.find(b">", lt)
            end = low.find(b"</title", start + 1) if start >= 0 else -1
            return head[start + 1:end] if end >= 0 else None
        else:
            skipped = next((name for name in _SKIPPED if _is_tag(low, lt, name)), None)
            if skipped is not None:
                end = low.find(b"</" + skipped, lt + 1)
                if end < 0:
                    return None
                i = end + 2
                continue
        i = lt + 1


def _visitor(request: Any) -> bytes:
    """A keyed hash telling this visitor from others; the key never leaves the process."""
    user = _loaded_user(request)
    if user is not None and getattr(user, "is_authenticated", False) is True:
        who = "user:" + str(getattr(user, "pk", "") or "")
    else:
        from django.conf import settings

        cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME) if hasattr(request, "COOKIES") else None
        who = f"session:{cookie}" if cookie else "addr:" + str(request.META.get("REMOTE_ADDR", ""))
    return hmac.new(_KEY, who.encode("utf-8", "replace"), hashlib.sha256).digest()[:12]


def _loaded_user(request: Any) -> Any:
    """The user if a middleware or view already loaded it (``request.user``, ``request.auser()``),
    else ``None``: never triggers the session or user query."""
    values = getattr(request, "__dict__", {})
    cached = values.get("_acached_user")  # what request.auser() stored
    if cached is not None:
        return cached
    user = values.get("user")
    if user is None:
        return None
    from django.utils.functional import SimpleLazyObject, empty

    if isinstance(user, SimpleLazyObject):
        wrapped = user.__dict__.get("_wrapped", empty)
        return None if wrapped is empty else wrapped
    return user


class _Seen:
    """Bounded memory of which visitors saw which title on which route."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        # (route, title) -> the visitor hashes seen, or None once k were: it is then released.
        self._entries: OrderedDict[tuple[str, str], set[bytes] | None] = OrderedDict()

    def admit(self, route: str, title: str, visitor: bytes, k: int) -> bool:
        key = (route, title)
        with self._lock:
            if key not in self._entries:
                self._entries[key] = set()
                if len(self._entries) > self._size:
                    self._entries.popitem(last=False)
            else:
                self._entries.move_to_end(key)
            seen = self._entries[key]
            if seen is None:
                return True
            seen.add(visitor)
            if len(seen) >= k:
                self._entries[key] = None
                return True
            return False

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_SEEN = _Seen(MAX_TRACKED_TITLES)
