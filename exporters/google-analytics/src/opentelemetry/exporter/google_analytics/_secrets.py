"""Keeping the API secret out of logs: text scrubbing, URL masking and the urllib3 log filter.

The API secret travels in the query string of every request. :func:`scrub` masks it (and any URL
query value or user-info) in a text, :func:`mask_url` gives an endpoint as it may be printed, and
the filter :func:`install_secret_filter` puts on urllib3's and requests' loggers (on import)
masks their DEBUG lines, which quote request URLs, and their exception texts.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

__all__ = ["install_secret_filter", "mask_url", "scrub"]

_SECRET_IN_TEXT = re.compile(r"(api_secret(?:=|%3D|'\s*:\s*'|\"\s*:\s*\"))[^&\s\"']*", re.IGNORECASE)
# A query parameter of a URL in a log line: every value but the (public) measurement id is masked,
# since a relay's endpoint may carry its own key (?key=..., ?token=...). No nested quantifiers:
# each character is looked at a bounded number of times.
_QUERY_VALUE = re.compile(r"([?&](?!measurement_id=)[^=&\s\"'#]{1,64}=)[^&\s\"'#]*", re.IGNORECASE)
_USERINFO = re.compile(r"(//)[^/?#@\s\"']{1,256}@")


def scrub(text: str) -> str:
    """Mask every ``api_secret=...`` value, URL query value and URL user-info in ``text``."""
    text = _SECRET_IN_TEXT.sub(r"\1***", text)
    if "=" in text:
        text = _QUERY_VALUE.sub(r"\1***", text)
    if "@" in text:
        text = _USERINFO.sub(r"\1***@", text)
    return text


def mask_url(url: object) -> str:
    """``url`` as it may be printed or logged: user-info and query values (bar ``measurement_id``)
    masked, e.g. ``https://***@relay.example/mp/collect?key=***``; ``***`` if it is not a string."""
    if not isinstance(url, str):
        return "***"
    try:
        parts = urlsplit(url)
    except ValueError:
        return "***"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    query = "&".join(
        part if part.partition("=")[0] == "measurement_id" or "=" not in part
        else part.partition("=")[0] + "=***"
        for part in parts.query.split("&")
    ) if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class _SecretFilter(logging.Filter):
    """Masks API secrets in urllib3's log records (its DEBUG lines quote request URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is urllib3's problem; let logging report it
            return True
        if "=" in message or "@" in message:
            masked = scrub(message)
            if masked != message:
                record.msg = masked
                record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            # Exception texts quote URLs too: keep a scrubbed rendering, drop the live exception.
            record.exc_text = scrub(_FORMATTER.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


_FORMATTER = logging.Formatter()
_SECRET_FILTER = _SecretFilter()
# Filters apply to the logger a record is made on, not its children: name each one that logs URLs.
_URLLIB3_LOGGERS = ("urllib3", "urllib3.connectionpool", "urllib3.util.retry", "urllib3.poolmanager",
                    "urllib3.connection", "urllib3.response", "requests")


def install_secret_filter() -> None:
    """Put the secret filter on urllib3's loggers (idempotent)."""
    for name in _URLLIB3_LOGGERS:
        logger = logging.getLogger(name)
        if _SECRET_FILTER not in logger.filters:
            logger.addFilter(_SECRET_FILTER)


install_secret_filter()
