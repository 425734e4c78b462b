"""Django route → the page path GA sees: a template, never the request's path values."""

from __future__ import annotations

from functools import lru_cache

__all__ = ["route_template"]

_QUANTIFIERS = "*+?"


def _skip_quantifier(route: str, i: int) -> int:
    if i < len(route) and route[i] in _QUANTIFIERS:
        i += 1
        if i < len(route) and route[i] == "?":  # lazy
            i += 1
    elif i < len(route) and route[i] == "{":
        end = route.find("}", i)
        if end != -1:
            i = end + 1
    return i


def _group_end(route: str, i: int) -> int:
    """Index just past the group opening at ``route[i] == '('``."""
    depth = 0
    in_class = False
    while i < len(route):
        char = route[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(route)


def _class_end(route: str, i: int) -> int:
    i += 1
    if i < len(route) and route[i] == "^":
        i += 1
    if i < len(route) and route[i] == "]":
        i += 1
    while i < len(route) and route[i] != "]":
        i += 2 if route[i] == "\\" else 1
    return i + 1


def _regex_template(route: str) -> str:
    out: list[str] = []
    i = 0
    n = len(route)
    while i < n:
        char = route[i]
        if char == "(":
            end = _group_end(route, i)
            body = route[i + 1 : end - 1]
            if body.startswith(("?=", "?!", "?<=", "?<!")):
                pass  # lookarounds match no text
            elif body.startswith("?P<") and ">" in body:
                out.append(f"<{body[3:body.index('>')]}>")
            else:
                out.append("<var>")
            i = _skip_quantifier(route, end)
        elif char == "[":
            out.append("<var>")
            i = _skip_quantifier(route, _class_end(route, i))
        elif char == "\\" and i + 1 < n:
            nxt = route[i + 1]
            if nxt in "dDwWsS":
                out.append("<var>")
                i = _skip_quantifier(route, i + 2)
            elif nxt in "AZbB":
                i += 2
            else:
                out.append(nxt)
                i = _skip_quantifier(route, i + 2)
        elif char == ".":
            out.append("<var>")
            i = _skip_quantifier(route, i + 1)
        elif char in "^$":
            i += 1
        elif char in _QUANTIFIERS or char == "{":
            i = _skip_quantifier(route, i)
        else:
            out.append(char)
            i += 1
    text = "".join(out)
    while "<var><var>" in text:
        text = text.replace("<var><var>", "<var>")
    return text


def _is_regex(route: str) -> bool:
    return route.startswith("^") or route.endswith("$") or "(?" in route or "\\" in route \
        or route.endswith("\\Z")


@lru_cache(maxsize=1024)
def route_template(route: str) -> str:
    """Return the page path GA sees for a Django route: a template, never real path values.

    ``path()`` routes are kept as they are (``character/<int:character_id>/`` →
    ``/character/<int:character_id>/``); ``re_path()`` regexes become templates
    (``^character/(?P<character_id>[0-9]+)/$`` → ``/character/<character_id>/``, unnamed groups
    and character classes → ``<var>``); the root route ``""`` is ``/``.
    """
    text = _regex_template(route) if _is_regex(route) else route
    return text if text.startswith("/") else "/" + text
