"""One 40 kB HTML page, the size of a typical Alliance Auth page, served from memory.

The page is built once so the view itself costs next to nothing: what the benchmark measures is
Django plus the analytics around it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

PAGE_BYTES = 40 * 1024


def _build_page() -> bytes:
    head = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Character Sheet - Alliance Auth</title>"
        '<link rel="stylesheet" href="/static/css/bootstrap.min.css"></head><body>\n'
    )
    row = (
        '<tr><td class="text-center"><img src="/static/img/portrait.png" alt=""></td>'
        '<td><a href="/character/{n}/">Pilot {n}</a></td><td>Corporation {n}</td>'
        '<td class="text-end">{n} ISK</td></tr>\n'
    )
    tail = "</tbody></table></body></html>\n"
    html = head + '<table class="table table-striped"><tbody>\n'
    n = 90000000
    while len(html) + len(row) + 20 + len(tail) < PAGE_BYTES:
        html += row.format(n=n)
        n += 1
    html += tail
    # Pad to exactly 40 kB with a comment, as templates leave whitespace and comments behind.
    return (html + "<!--" + "x" * (PAGE_BYTES - len(html) - 7) + "-->").encode()


PAGE = _build_page()


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


def character(request: HttpRequest, character_id: int) -> HttpResponse:
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")
