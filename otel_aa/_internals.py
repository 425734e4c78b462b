"""Other projects' private parts otel-aa reads, and the versions it reads them at.

:data:`SUPPORTED_VERSIONS` is the one table of the contrib and SDK versions otel-aa's reads of
their internals and its patches (:mod:`otel_aa._lean`) were written for and tested at. Every
read of an SDK private attribute goes through a function here, and each gives "can't tell"
(``None``) outside those versions, so the caller takes its public path: the SDK's own drop
path for a full queue, no metric views changed, the processors told by otel-aa's own record.
One info line names what is outside.
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from collections.abc import Mapping, Sized
from types import MappingProxyType
from typing import Any

from packaging.version import InvalidVersion, Version

from otel_aa._guard import log_once

__all__ = [
    "CELERY",
    "DJANGO",
    "SDK",
    "SUPPORTED_VERSIONS",
    "batch_queue",
    "meter_provider_config",
    "queue_full",
    "span_processors",
    "supported",
    "unsupported_versions",
]

DJANGO = "opentelemetry-instrumentation-django"
CELERY = "opentelemetry-instrumentation-celery"
SDK = "opentelemetry-sdk"

#: The versions (lowest, newest; both included) the reads and patches were written for and tested
#: at: from the lowest otel-aa's dependency ranges allow to the newest released when they were
#: last checked.
SUPPORTED_VERSIONS: Mapping[str, tuple[str, str]] = MappingProxyType({
    DJANGO: ("0.61b0", "0.66b2"),
    CELERY: ("0.61b0", "0.66b2"),
    SDK: ("1.40.0", "1.45.2"),
})

_logger = logging.getLogger("otel_aa")


@functools.lru_cache(maxsize=1)
def unsupported_versions() -> Mapping[str, str]:
    """The distributions of :data:`SUPPORTED_VERSIONS` installed at another version (name →
    version), looked up once per process; one info line names them. One not installed isn't
    listed: there is nothing of it to read or patch."""
    found: dict[str, str] = {}
    for name, (lowest, newest) in SUPPORTED_VERSIONS.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        try:
            within = Version(lowest) <= Version(installed) <= Version(newest)
        except InvalidVersion:
            within = False
        if not within:
            found[name] = installed
    if found:
        log_once("lean:versions", logging.INFO,
                 "otel-aa: %s outside the versions its patches were written for (otel_aa._internals."
                 "SUPPORTED_VERSIONS); those patches stay off and the instrumentation does its full work",
                 ", ".join(f"{name} {version}" for name, version in found.items()), logger=_logger)
    return MappingProxyType(found)


def supported(*names: str) -> bool:
    """Whether each of ``names`` is installed within its supported versions (or not at all)."""
    return not any(name in unsupported_versions() for name in names)


def span_processors(source: Any) -> tuple[Any, ...] | None:
    """The span processors of ``source`` (an SDK ``TracerProvider``, tracer or span), or ``None``
    where that can't be told. The SDK replaces the tuple whenever a processor is added, so the
    tuple itself is a key a caller may cache a verdict under."""
    if not supported(SDK):
        return None
    for name in ("_active_span_processor", "span_processor", "_span_processor"):
        active = getattr(source, name, None)
        if active is not None:
            break
    processors = getattr(active, "_span_processors", None)
    return processors if isinstance(processors, tuple) else None


def batch_queue(batch: Any) -> Any:
    """The object holding a ``BatchSpanProcessor``'s queue (``_queue``, ``_max_queue_size``), for
    a cheap "is it full" on the request thread, or ``None`` where that can't be told."""
    if not supported(SDK):
        return None
    batcher = getattr(batch, "_batch_processor", None)
    if isinstance(getattr(batcher, "_queue", None), Sized) and isinstance(
        getattr(batcher, "_max_queue_size", None), int
    ):
        return batcher
    return None


def queue_full(batcher: Any) -> bool:
    """Whether the queue of a :func:`batch_queue` holder is full (one span's check, on the
    request or task thread)."""
    return len(batcher._queue) >= batcher._max_queue_size


def meter_provider_config(provider: Any) -> Any:
    """An SDK ``MeterProvider``'s configuration (its ``views`` and ``resource``), which the SDK
    gives no public way to change once built, or ``None`` where it can't be told."""
    if not supported(SDK):
        return None
    config = getattr(provider, "_sdk_config", None)
    return config if hasattr(config, "views") and hasattr(config, "resource") else None
