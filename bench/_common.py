"""What the benchmark scripts share: worker processes driven in lock-step, tables, loopback helpers.

Each variant runs in its own child process (instrumentation can't be undone cleanly in one), and
the parent asks them for one round each in turn, in balanced orders (:func:`balanced_orders`), so
machine drift (other jobs, CPU frequency) and what one variant leaves behind land on every variant
alike. Only one child works at a time, and every child runs on the same CPU, the parent (and the
loopback GA in it) on the others, where the machine has more than one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released): connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_split() -> tuple[set[int], set[int]]:
    """(the CPU every variant runs on, the CPUs the parent keeps); both all CPUs on one CPU."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(available) < 2:
        return set(available), set(available)
    return {available[-1]}, set(available[:-1])


def _pin(pid: int) -> None:
    # Variants compared on one core, not on whichever core the scheduler picks: cores of a
    # shared machine differ (a busy sibling thread, another job). Its threads inherit it.
    workers_cpu, parent_cpus = cpu_split()
    if workers_cpu and hasattr(os, "sched_setaffinity"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, workers_cpu)
            os.sched_setaffinity(0, parent_cpus)


class Worker:
    """A child process running one variant; speaks one JSON line per command on stdin/stdout."""

    def __init__(self, script: Path, variant: str, env: dict[str, str], *, prefix: Sequence[str] = (),
                 pin: bool = True) -> None:
        """``prefix``: a command the worker runs under (``valgrind ...``); ``pin``: on the variants' CPU."""
        self.variant = variant
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, str(script), "--worker", variant],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, **env, "PYTHONPATH": str(BENCH_DIR)},
            cwd=BENCH_DIR,
        )
        if pin:
            _pin(self.proc.pid)
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


def timed_round(
    one: Callable[[], object], n: int, flush: Callable[[], dict[str, Any]] | None
) -> dict[str, Any]:
    """Run ``one`` ``n`` times, each timed (wall and this thread's CPU), then ``flush`` if given.

    ``background_ns`` is the process's CPU time over the round, flush included, but what the
    units took themselves: the export thread's work and the flush (the SDK exports a flush on
    the flushing thread).
    """
    samples, cpu = [], []
    clock, thread_clock = time.perf_counter_ns, time.thread_time_ns
    process_start = time.process_time_ns()
    for _ in range(n):
        t0, c0 = clock(), thread_clock()
        one()
        samples.append(clock() - t0)
        cpu.append(thread_clock() - c0)
    flushed = flush() if flush is not None else {}
    background = time.process_time_ns() - process_start - sum(cpu)
    return {"ns": samples, "cpu_ns": cpu, "background_ns": background, **flushed}


def add_round_arguments(parser: argparse.ArgumentParser, *, per_round: int, unit: str) -> None:
    """The options every timing script shares: variants, rounds and their sizes, warm-up."""
    parser.add_argument("--variants", default="abcde")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--per-round", type=int, default=per_round)
    parser.add_argument("--d-per-round", type=int, default=None,
                        help=f"{unit} per round for (d), about 100 times slower (default: a tenth)")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--profile", metavar="VARIANT", help="print a cProfile of one variant instead")
    parser.add_argument("--worker", help=argparse.SUPPRESS)


def parse_round_arguments(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse; ``d_per_round`` defaults to a tenth of ``per_round``: (d)'s rounds would otherwise
    make a cycle of rounds several seconds long, during which a shared machine's speed changes."""
    args = parser.parse_args()
    args.d_per_round = args.d_per_round or max(1, args.per_round // 10)
    return args


def balanced_orders(n: int) -> list[list[int]]:
    """A Williams design: orders of ``range(n)`` in which, over all of them, every variant runs in
    every position and right after every other variant equally often.

    A plain rotation keeps neighbours fixed (``e`` always right after ``d``), so whatever one
    variant leaves behind (a cold cache after BeautifulSoup, a busy Redis) would always fall on
    the same next variant. ``n`` orders for an even ``n``, ``2n`` for an odd one.
    """
    first, low, high = [0], 1, n - 1
    while len(first) < n:
        if len(first) % 2:
            first.append(low)
            low += 1
        else:
            first.append(high)
            high -= 1
    orders = [[(i + shift) % n for i in first] for shift in range(n)]
    if n % 2:
        orders += [list(reversed(order)) for order in orders]
    return orders


def interleave(workers: Sequence[Worker], rounds: int, command: str,
               overrides: dict[str, dict[str, Any]] | None = None, **args: Any) -> dict[str, list[Any]]:
    """Run ``rounds`` rounds, each asking every worker once, in the orders of :func:`balanced_orders`.

    ``overrides`` replaces ``args`` for some variants (a slow variant doing fewer units per round,
    so that rounds stay short and every variant meets the machine's changing speed alike). Use a
    multiple of ``len(balanced_orders(len(workers)))`` rounds for a fully balanced run.
    """
    results: dict[str, list[Any]] = {w.variant: [] for w in workers}
    orders = balanced_orders(len(workers))
    for r in range(rounds):
        for index in orders[r % len(orders)]:
            worker = workers[index]
            asked = {**args, **(overrides or {}).get(worker.variant, {})}
            results[worker.variant].append(worker.ask(command, **asked))
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


# --- added for the latency, outage and site-load benchmarks ----------------------------------

#: Alliance Auth's peak rates, for the outage and site-load benchmarks. A big install (thousands
#: of members) sees page views in bursts (fleet pings, logins after downtime): 10 a second at the
#: peak hour, 36,000 an hour, is well above what one AA site serves on average. Tasks: issue 13
#: counts tens to hundreds of thousands of ESI update runs a day on a big install (member audit,
#: corp tools, structures); 300,000 a day is 3.5 a second on average, and the hourly update waves
#: bunch them: 40 a second (144,000 an hour) at the peak.
PEAK_PAGE_VIEWS_PER_S = 10
PEAK_TASKS_PER_S = 40


def rss_mb(pid: int | str = "self") -> float:
    """Resident set size of a process, in MB (from ``/proc``, Linux)."""
    with open(f"/proc/{pid}/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def thread_cpu_ns() -> dict[str, int]:
    """CPU time of each live thread of this process, by thread name (same names summed).

    Read from each thread's own CPU clock, so the export thread's share can be told from the
    request thread's without touching the exporter: it is whatever thread the SDK runs it on.
    """
    totals: dict[str, int] = {}
    for thread in threading.enumerate():
        ident = thread.ident
        if ident is None:
            continue
        try:
            ns = time.clock_gettime_ns(time.pthread_getcpuclockid(ident))
        except (OSError, ProcessLookupError):  # ended meanwhile
            continue
        totals[thread.name] = totals.get(thread.name, 0) + ns
    return totals


def background_cpu_ns() -> int:
    """CPU time of every thread of this process but the calling one, so far."""
    return time.process_time_ns() - time.thread_time_ns()
