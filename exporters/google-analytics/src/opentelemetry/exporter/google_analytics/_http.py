"""One HTTP attempt, its outcome sorted for the retry loop: an answer, retryable or not.

:func:`post_on_pool` posts on the urllib3 pool of the transport's own ``requests`` adapter (see
:mod:`._transport` for why not through ``Session.send``); :func:`post_with_session` through a
session the caller handed in. Both give ``(status, headers, body)`` or raise
:class:`._retry._Retryable` (a timeout, a refused, reset or dropped connection) or
:class:`._retry._Failed` (a TLS failure, a bad request). Their messages are our own, never the
exception's text, which quotes the URL and so the API secret.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

import requests
import urllib3
from opentelemetry.exporter.google_analytics._log import log_per_window
from opentelemetry.exporter.google_analytics._retry import _Failed, _Retryable
from opentelemetry.exporter.google_analytics._secrets import scrub
from urllib3 import exceptions as u3

_logger = logging.getLogger("opentelemetry.exporter.google_analytics")

JSON = {"Content-Type": "application/json"}
#: Every header our requests carry. requests' defaults (Accept, Accept-Encoding, Connection:
#: keep-alive, which HTTP/1.1 means anyway) are left out: GA's answers are empty or tiny JSON.
HEADERS = {**JSON, "User-Agent": "opentelemetry-exporter-google-analytics"}
#: urllib3 makes no retries of its own (ours are in ``_Transport._send``); built once, not from
#: ``retries=False`` on every request.
_NO_RETRIES = urllib3.Retry(total=False, redirect=False)
#: What a refused, reset or dropped connection raises: retried, as a timeout is.
_CONNECTION_ERRORS = (u3.ProtocolError, u3.ProxyError, u3.EmptyPoolError, OSError)

Answer = tuple[int, Mapping[str, str], bytes]


def _urlopen(pool: Any, url: str, body: bytes, headers: Mapping[str, str],
             timeout: float) -> urllib3.BaseHTTPResponse:
    """One POST on ``pool``; the answer's body is read, and the connection back in the pool."""
    response: urllib3.BaseHTTPResponse = pool.urlopen(
        "POST", url, body=body, headers=headers, retries=_NO_RETRIES, redirect=False,
        assert_same_host=False, timeout=timeout, preload_content=True, decode_content=False)
    return response


def post_on_pool(pool: Any, url: str, headers: Mapping[str, str], body: bytes,
                 timeout: float) -> Answer:
    """POST ``body`` to ``url`` (the request target) on ``pool``. A ``ClosedPoolError`` (the
    session was closed under us) is retryable: the caller looks the pool up again."""
    try:
        response = _urlopen(pool, url, body, headers, timeout)
    except u3.NewConnectionError:  # a subclass of the timeout error: refused, unresolvable
        raise _Retryable("connection failed") from None
    except u3.TimeoutError:
        raise _Retryable("timed out") from None
    except u3.SSLError:
        raise _Failed("TLS error (not retried)") from None
    except (u3.ClosedPoolError, *_CONNECTION_ERRORS):
        raise _Retryable("connection failed") from None
    except u3.HTTPError as exc:
        raise _Failed(f"request error {type(exc).__name__}") from None
    # A 204 (GA's answer) has no content: urllib3 keeps only a non-empty body, so .data would
    # read the closed response again, 25,000 instructions a request (issue 13).
    status = response.status
    return status, response.headers, b"" if status == 204 else response.data


def post_with_session(session: requests.Session, url: str, body: bytes, timeout: float) -> Answer:
    """POST ``body`` to the full ``url`` with a caller's ``session``, as they set it up."""
    try:
        response = session.post(url, data=body, headers=JSON, timeout=timeout, allow_redirects=False)
        content = response.content
    except requests.Timeout:
        raise _Retryable("timed out") from None
    except requests.exceptions.SSLError:
        raise _Failed("TLS error (not retried)") from None
    except requests.ConnectionError:
        raise _Retryable("connection failed") from None
    except requests.RequestException as exc:
        raise _Failed(f"request error {type(exc).__name__}") from None
    return response.status_code, response.headers, content


def log_validation(token_name: str, content: bytes) -> None:
    """Log the validation server's ``validationMessages`` for a token (scrubbed of secrets)."""
    try:
        messages = json.loads(content or b"{}").get("validationMessages", [])
    except (ValueError, AttributeError):
        log_per_window(f"validate-garbage:{token_name}", logging.WARNING,
                       "Google Analytics validation server sent an unreadable answer "
                       "for token %s", token_name)
        return
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict):
            _logger.warning(
                "Google Analytics validation (token %s): %s: %s [%s]",
                token_name,
                scrub(str(message.get("fieldPath", ""))),
                scrub(str(message.get("description", ""))),
                scrub(str(message.get("validationCode", ""))),
            )
