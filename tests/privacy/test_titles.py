"""The opt-in HTML title mode's parts: which <title> is the document's, and the k-visitor rule."""

from __future__ import annotations

import pytest

from otel_aa import _config as config
from otel_aa import _titles as titles

CANARY = "zq7canary"


@pytest.mark.parametrize(("body", "expected"), [
    (b"<!DOCTYPE html><html><head><title>Fleet &amp; ops</title></head>", "Fleet & ops"),
    (b"<!doctype html><TITLE lang=en>\n  Spaced\t out </TITLE>", "Spaced out"),
    (b"<html><head><meta charset=utf-8><title>Caf\xc3\xa9</title>", "Caf\u00e9"),
    # An inline SVG's accessible name, before or instead of the head's title.
    (b"<html><head><svg><title>" + CANARY.encode() + b"</title></svg><title>Real</title>", "Real"),
    (b"<html><body><svg role=img><title>" + CANARY.encode() + b"</title></svg></body></html>", None),
    (b"<html><head><math><title>" + CANARY.encode() + b"</title></math></head>", None),
    # A commented-out title, and titles inside raw-text and inert elements.
    (b"<html><head><!-- <title>" + CANARY.encode() + b"</title> --><title>Board</title>", "Board"),
    (b"<html><head><script>document.title='<title>" + CANARY.encode() + b"</title>'</script>", None),
    (b"<html><head><template><title>" + CANARY.encode() + b"</title></template>", None),
    (b"<html><head><style>/* <title>x</title> */</style><title>Styled</title>", "Styled"),
    # HTML fragments (htmx, AJAX) have no document: their <title> is not the page's.
    (b"<div class=row><title>" + CANARY.encode() + b"</title></div>", None),
    (b"<tr><td><svg><title>" + CANARY.encode() + b"</title></svg></td></tr>", None),
    # A title after <body> is not the head's; unclosed things give nothing.
    (b"<html><body><title>" + CANARY.encode() + b"</title>", None),
    (b"<html><head><title>never closed", None),
    (b"<html><head><!-- never closed <title>x</title>", None),
    (b"<html><head><titlex>no</titlex><title>Yes</title>", "Yes"),
    (b"", None),
])
def test_the_documents_title_only(body: bytes, expected: str | None) -> None:
    assert titles.html_title(body, "text/html") == expected


def test_only_the_head_bytes_are_read() -> None:
    late = b"<html><head>" + b" " * titles.HEAD_BYTES + b"<title>Late</title>"
    assert titles.html_title(late) is None


def test_charsets() -> None:
    assert titles.html_title("<html><title>Caf\xe9</title>".encode("latin-1"),
                             "text/html; charset=ISO-8859-1") == "Caf\u00e9"
    assert titles.html_title(b"<html><title>Board</title>", "text/html; charset=x-nonesuch") == "Board"
    assert titles.html_title(b"<html><title>\x00Bo\x1bard\xe2\x80\xae</title>") == "Board"


def test_a_title_is_released_after_k_distinct_visitors_only() -> None:
    seen = titles._Seen(size=8)
    assert not seen.admit("r/", "T", b"a", 3)
    assert not seen.admit("r/", "T", b"a", 3)  # the same visitor again
    assert not seen.admit("r/", "T", b"b", 3)
    assert not seen.admit("other/", "T", b"c", 3)  # another route counts apart
    assert seen.admit("r/", "T", b"c", 3)
    assert seen.admit("r/", "T", b"a", 3)  # released for good


def test_memory_is_bounded() -> None:
    seen = titles._Seen(size=4)
    for n in range(100):
        seen.admit("r/", f"title {n}", b"v", 2)
    assert len(seen._entries) == 4
    # The oldest were forgotten: their counts start again.
    assert not seen.admit("r/", "title 0", b"w", 2)


@pytest.mark.parametrize("value", ["HTML", " view_name "])
def test_mode_values(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OTEL_AA_PAGE_TITLE", value)
    assert config.reload().page_title_mode == value.strip().lower()


@pytest.mark.parametrize("value", ["yes", "zq7title", "1"])
def test_an_unreadable_mode_is_view_name(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    from opentelemetry.exporter.google_analytics import _log

    _log._reset()
    monkeypatch.setenv("OTEL_AA_PAGE_TITLE", value)
    assert config.reload().page_title_mode == "view_name"
    assert config.reload().page_title_mode == "view_name"
    messages = [r.getMessage() for r in caplog.records if "OTEL_AA_PAGE_TITLE" in r.getMessage()]
    assert len(messages) == 1 and "zq7" not in messages[0]


@pytest.mark.parametrize("value", ["many", "-3", "0"])
def test_an_unreadable_k_sends_no_html_title(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("OTEL_AA_PAGE_TITLE_K", value)
    assert config.reload().page_title_k is None
    monkeypatch.setenv("OTEL_AA_PAGE_TITLE_K", "1")
    assert config.reload().page_title_k == 2  # never fewer than two visitors
