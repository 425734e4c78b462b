"""What the benchmark scripts share: worker processes driven in lock-step, tables, loopback helpers.

Each variant runs in its own child process (instrumentation can't be undone cleanly in one), and
the parent asks them for one round each in turn, rotating the order, so machine drift (other
jobs, CPU frequency) lands on every variant alike. Only one child works at a time.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Worker:
    """A child process running one variant; speaks one JSON line per command on stdin/stdout."""

    def __init__(self, script: Path, variant: str, env: dict[str, str]) -> None:
        self.variant = variant
        self.proc = subprocess.Popen(
            [sys.executable, str(script), "--worker", variant],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **env, "PYTHONPATH": str(BENCH_DIR)},
            cwd=BENCH_DIR,
        )
        self.ready = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"variant {self.variant}: worker died (exit {self.proc.wait()})")
        return dict(json.loads(line))

    def ask(self, command: str, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"command": command, **args}) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError, RuntimeError, ValueError):
                self.ask("quit")
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def serve(handlers: dict[str, Any], ready: dict[str, Any]) -> None:
    """The child's side of :class:`Worker`: answer commands until ``quit``."""
    out = sys.stdout
    # Anything the site prints must not corrupt the protocol.
    sys.stdout = sys.stderr
    out.write(json.dumps(ready) + "\n")
    out.flush()
    for line in sys.stdin:
        request = json.loads(line)
        command = request.pop("command")
        if command == "quit":
            out.write("{}\n")
            out.flush()
            # No exit handlers: with GA unreachable, the SDK's shutdown would wait out a retry budget.
            os._exit(0)
        out.write(json.dumps(handlers[command](**request)) + "\n")
        out.flush()


def interleave(workers: Sequence[Worker], rounds: int, command: str, **args: Any) -> dict[str, list[Any]]:
    """Run ``rounds`` rounds, each asking every worker once, the order rotated every round."""
    results: dict[str, list[Any]] = {w.variant: [] for w in workers}
    for r in range(rounds):
        order = list(workers[r % len(workers) :]) + list(workers[: r % len(workers)])
        for worker in order:
            results[worker.variant].append(worker.ask(command, **args))
    return results


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (so it pastes into docs/performance.md as is)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def redis_client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL)


def broker_messages(prefix: str) -> int:
    """Messages sitting in the broker under ``prefix`` (no worker consumes them in the benchmark)."""
    client = redis_client()
    try:
        total = 0
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            if client.type(key) == b"list":
                total += int(client.llen(key))
        return total
    finally:
        client.close()


def delete_keys(prefix: str) -> int:
    client = redis_client()
    try:
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


def platform_line() -> str:
    import platform

    import django

    return (
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}, load average {os.getloadavg()[0]:.2f}"
    )
