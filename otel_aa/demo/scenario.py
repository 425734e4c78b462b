"""What the demo plays: its GA tokens, its requests and tasks, and the private values they carry.

Data only, shared by the demo (which plays and shows it) and the tests (``tests/demo``, which
check what reached GA against it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CANARY_COOKIE", "CANARY_HEADERS", "DEMO_TOKENS", "IGNORE_PATHS", "REQUESTS", "TASK_EVENTS",
           "TASK_SPANS", "USER", "DemoRequest", "canaries"]

#: The demo's GA destinations: one for page views only, one for everything, one that ignores
#: the fleet app's pages. Made-up ids and secrets: they only ever reach 127.0.0.1.
DEMO_TOKENS: tuple[dict[str, Any], ...] = (
    {
        "name": "pages-only",
        "measurement_id": "G-DEMOPAGES1",
        "api_secret": "demo-secret-pages-7Hq2xR",
        "page_views": True,
        "celery_events": False,
        "daily_stats": False,
    },
    {
        "name": "everything",
        "measurement_id": "G-DEMOALL002",
        "api_secret": "demo-secret-all-Vb81Lk",
        "page_views": True,
        "celery_events": True,
        "daily_stats": True,
    },
    {
        "name": "no-fleet-pages",
        "measurement_id": "G-DEMONOFLT3",
        "api_secret": "demo-secret-nofleet-Q3zw",
        "page_views": True,
        "celery_events": False,
        "daily_stats": True,
        "ignore_paths": ["^/fleet/"],
    },
)

#: Ignored for every token (``OTEL_EXPORTER_GA_IGNORE_PATHS``): a health check is not a visit.
IGNORE_PATHS = "^/healthz/"

#: The logged-in visitor: its name and e-mail are canaries.
USER = {"username": "canary.pilot", "email": "canary.pilot@example.org"}
#: Every request carries these: an IP twice, a host name, a User-Agent, a referer.
CANARY_HEADERS = {
    "HTTP_HOST": "auth.canary-corp.example",
    "HTTP_USER_AGENT": "CanaryBrowser/9.9 (canary-ua)",
    "HTTP_X_FORWARDED_FOR": "203.0.113.77",
    "REMOTE_ADDR": "198.51.100.23",
    "HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.8",
    "HTTP_REFERER": "https://auth.canary-corp.example/private/canary-referer",
}
CANARY_COOKIE = ("canary_pref", "canary-cookie-value")


@dataclass(frozen=True)
class DemoRequest:
    """One request of the demo's visit: whether it is a page view, and why (or why not)."""

    method: str
    path: str
    counts: bool
    why: str
    route: str = ""
    """The route template a page view carries: what tokens' ``ignore_paths`` are searched in."""


REQUESTS: tuple[DemoRequest, ...] = (
    DemoRequest("GET", "/", True, "HTML page (root route)", "/"),
    DemoRequest("GET", "/character/90000001/?page=canary-query-value", True,
                "HTML page, path value and query string", "/character/<int:character_id>/"),
    DemoRequest("GET", "/corporation/CNRY/", True, "HTML page via re_path", "/corporation/<ticker>/"),
    DemoRequest("GET", "/fleet/", True, "HTML page of an include()d app", "/fleet/"),
    DemoRequest("GET", "/fleet/canary-fleet-key/", True, "HTML page, slug in the path",
                "/fleet/<slug:fleet_key>/"),
    DemoRequest("GET", "/api/status/", False, "JSON, not a page"),
    DemoRequest("GET", "/go/home/", False, "redirect (302)"),
    DemoRequest("GET", "/character/99999999/", False, "404 from the view"),
    DemoRequest("GET", "/no/such/page/", False, "404, no route"),
    DemoRequest("POST", "/", False, "POST, a form submit"),
    DemoRequest("GET", "/healthz/", False, "ignored path, every token"),
)

#: Task runs that are events: one success, one failure, one retried-then-successful run (the
#: retry itself is not sent). Four task spans: the retried task runs twice.
TASK_EVENTS = 3
TASK_SPANS = 4


def canaries(session_key: str) -> dict[str, str]:
    """Every private value the demo plants, by where it hides (the session key is the run's own)."""
    found = {
        "user name": USER["username"],
        "user e-mail": USER["email"],
        "client IP (X-Forwarded-For)": CANARY_HEADERS["HTTP_X_FORWARDED_FOR"],
        "client IP (REMOTE_ADDR)": CANARY_HEADERS["REMOTE_ADDR"],
        "host name": CANARY_HEADERS["HTTP_HOST"],
        "User-Agent": "CanaryBrowser",
        "referer": "canary-referer",
        "cookie": CANARY_COOKIE[1],
        "session id": session_key,
        "query string": "canary-query-value",
        "path value (id)": "90000001",
        "path value (slug)": "canary-fleet-key",
        "path value (ticker)": "CNRY",
        "task argument": "Canary Pilot",
        "exception message": "ESI refused",
    }
    for index, token in enumerate(DEMO_TOKENS):
        found[f"API secret #{index + 1}"] = token["api_secret"]
    return found
