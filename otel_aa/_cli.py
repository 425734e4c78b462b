"""The ``otel-aa`` command line: ``otel-aa demo`` runs the embedded demo and reports; ``--version``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otel-aa",
        description="Privacy-first usage analytics for Alliance Auth, built on OpenTelemetry.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_versions()}")
    commands = parser.add_subparsers(dest="command", title="commands")
    commands.required = True
    demo = commands.add_parser(
        "demo",
        help="run the embedded example site against a Google Analytics stand-in on 127.0.0.1 and "
        "report what it received",
        description="Run an embedded example site (SQLite, an in-process Celery worker) instrumented "
        "by otel_aa, sending to a Google Analytics stand-in on 127.0.0.1 that checks every hit. "
        "No network, no services. Exits non-zero if nothing arrived or the stand-in found a hit "
        "invalid.",
    )
    demo.add_argument("-v", "--verbose", action="store_true", help="show each request and task")
    return parser


def _versions() -> str:
    # The installed distributions' versions (what pip sees), the package's own when not installed.
    from importlib import metadata

    from otel_aa import __version__

    found = []
    for dist, fallback in (("otel-aa", __version__), ("opentelemetry-exporter-google-analytics", None)):
        try:
            found.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            if fallback is not None:
                found.append((dist, fallback))
    own = found[0][1]
    rest = ", ".join(f"{name} {version}" for name, version in found[1:])
    return f"{own} ({rest})" if rest else own


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``otel-aa`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from otel_aa.demo.runner import run

        return run(sys.stdout, verbose=args.verbose)
    return 2  # argparse already rejects unknown commands; kept for type completeness


if __name__ == "__main__":
    sys.exit(main())
