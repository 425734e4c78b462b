"""The collect URL: whether a setting is one, and the validation server's URL for it."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

__all__ = ["debug_endpoint", "endpoint_problem", "parse_endpoint"]


def debug_endpoint(endpoint: str) -> str:
    """The validation-server URL for a collect URL (``/mp/collect`` → ``/debug/mp/collect``)."""
    parts = urlsplit(endpoint)
    path = parts.path
    if not path.startswith("/debug/"):
        path = "/debug" + (path if path.startswith("/") else "/" + path)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


def endpoint_problem(endpoint: object) -> str | None:
    """Why ``endpoint`` can't be a collect URL (a fixed, value-free text), or ``None``.

    Not a ``str`` (a tuple from a trailing comma, bytes), empty, holding white space or control
    characters, not http(s), or without a host: each one is a problem, never a reason to fall
    back to Google's default host.
    """
    if not isinstance(endpoint, str):
        return "not a URL string"
    if not endpoint or not endpoint.isprintable() or any(c.isspace() for c in endpoint):
        return "not a valid URL"
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
        _ = parts.port  # a malformed port raises only when read
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in {"http", "https"}:
        return "not an http or https URL"
    if not host:
        return "a URL without a host"
    return None


def parse_endpoint(value: object) -> str:
    """A collect URL setting, checked by :func:`endpoint_problem` (a settings parser)."""
    problem = endpoint_problem(value)
    if problem is not None:
        raise ValueError(problem)
    assert isinstance(value, str)
    return value
