"""Views that answer with hostile content: huge, broken or endless bodies and titles."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

MB = 1024 * 1024

TITLES: dict[str, tuple[bytes, str]] = {
    # kind: (bytes of the <title> element's text, Content-Type)
    "controls": (b"Fleet\x00\x01\x07\x1b[31m\x7f ops\r\n\tboard\x0b\x0c", "text/html; charset=utf-8"),
    "invalid-utf8": (b"Caf\xc3 \xff\xfe\xed\xa0\x80 board", "text/html; charset=utf-8"),
    "latin1": ("Caf\xe9 board".encode("latin-1"), "text/html; charset=iso-8859-1"),
    "unknown-charset": (b"Fleet board", "text/html; charset=x-no-such-charset"),
    "utf16": ("Fleet board".encode("utf-16"), "text/html; charset=utf-16"),
    "entities": (b"&lt;script&gt;alert(1)&lt;/script&gt; &#0; &#xD800; &#x110000; &bogus;", "text/html"),
    "bidi": ("\u202eevil\u202c \u200b\u2028\ufeff title \U0001f680".encode(), "text/html; charset=utf-8"),
    "huge": (b"T" * (10 * MB), "text/html; charset=utf-8"),
    "empty": (b"", "text/html; charset=utf-8"),
}


def title_view(kind: str) -> Callable[[Any], HttpResponse]:
    def title(request: Any) -> HttpResponse:
        text, content_type = TITLES[kind]
        body = b"<!DOCTYPE html><html><head><title>" + text + b"</title></head><body>ok</body></html>"
        return HttpResponse(body, content_type=content_type)

    return title


#: 10 MB bodies: HTML with a normal title, HTML without a head, and a binary download.
BIG: dict[str, tuple[bytes, str]] = {
    "html": (
        b"<html><head><title>Big page</title></head><body>" + b"x" * (10 * MB) + b"</body></html>",
        "text/html; charset=utf-8",
    ),
    "headless": (b"<p>" * (10 * MB // 3), "text/html"),
    "binary": (b"\x00" * (10 * MB), "application/octet-stream"),
}


def big_view(kind: str) -> Callable[[Any], HttpResponse]:
    def big(request: Any) -> HttpResponse:
        body, content_type = BIG[kind]
        return HttpResponse(body, content_type=content_type)

    return big


class Endless:
    """An endless HTML stream that counts what was taken from it."""

    def __init__(self) -> None:
        self.taken = 0

    def __iter__(self) -> Iterator[bytes]:
        yield b"<html><head><title>Streamed</title></head><body>"
        for n in itertools.count():
            self.taken += 1
            yield b"<p>%d</p>" % n


LAST_STREAM: list[Endless] = []


def stream(request: Any) -> StreamingHttpResponse:
    body = Endless()
    LAST_STREAM.append(body)
    return StreamingHttpResponse(iter(body), content_type="text/html; charset=utf-8")


def anything(request: Any, rest: str) -> HttpResponse:
    return HttpResponse(b"<html><head><title>Any page</title></head></html>", content_type="text/html")
