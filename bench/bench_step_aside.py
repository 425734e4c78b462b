"""Why the export steps aside with a short sleep: how long a woken thread waits for the GIL.

Two threads of one process, as in a site's worker: the "request" thread sleeps 0.5 ms (a socket
read, say), wakes, and measures how long it took to run Python again; meanwhile the "export"
thread does Python work in slices of about 300 us (one request to GA's worth) and, between
slices, steps aside in one of three ways:

  never       no yield: the woken thread waits until the export's next blocking call or the
              interpreter's switch interval (``sys.getswitchinterval()``, 5 ms by default)
  sleep(0)    the GIL is let go and taken straight back, unless the woken thread gets there
              first: nothing promises it does
  sleep(1e-4) what otel-aa does (``_pipeline._STEP_ASIDE_SECONDS``): the woken thread has
              0.1 ms to take the GIL, wherever it runs

Each way runs with both threads on one CPU and with the process on every CPU, interleaved in
rounds, beside a baseline without the export thread (the sleep's own overshoot). It prints the
request thread's extra wait (p50, p99 and max over the baseline's median) and the export's
slices per second, so the cost of stepping aside to the export is there too.

    .venv/bin/python bench/bench_step_aside.py           # ~1 min
    .venv/bin/python bench/bench_step_aside.py --quick   # ~10 s
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import percentile, platform_line, table

#: (name, what the export thread does between slices; None: no export thread at all)
WAYS: list[tuple[str, float | None]] = [
    ("no export thread", None), ("never", -1.0), ("sleep(0)", 0.0), ("sleep(1e-4)", 1e-4)]
NAP = 0.0005  # the request thread's "socket read"


def _slice_loops() -> int:
    """Loop iterations that take about 300 us of CPU here (one GA request's Python, roughly)."""
    n = 100_000
    start = time.thread_time()
    for _ in range(n):
        pass
    return max(1, int(n * 0.0003 / (time.thread_time() - start)))


def _round(way: float | None, samples: int, loops: int) -> tuple[list[float], float]:
    """The request thread's wake-up delays (us) with the export doing ``way``; slices a second."""
    stop, slices = threading.Event(), [0]

    def export() -> None:
        while not stop.is_set():
            for _ in range(loops):
                pass
            slices[0] += 1
            if way is not None and way >= 0:
                time.sleep(way)

    thread = None
    if way is not None:
        thread = threading.Thread(target=export, daemon=True)
        thread.start()
    delays, began = [], time.perf_counter()
    for _ in range(samples):
        t0 = time.perf_counter()
        time.sleep(NAP)
        delays.append((time.perf_counter() - t0 - NAP) * 1e6)
    elapsed = time.perf_counter() - began
    stop.set()
    if thread is not None:
        thread.join()
    return delays, slices[0] / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--samples", type=int, default=400, help="wake-ups per round")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.samples = 2, 200
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    placements = {"one CPU": {cpus[-1]}, "every CPU": set(cpus)} if len(cpus) > 1 else {"": set(cpus)}
    loops = _slice_loops()
    results: dict[tuple[str, str], tuple[list[float], list[float]]] = {}
    for r in range(args.rounds):
        order = WAYS if r % 2 == 0 else WAYS[::-1]
        for place, cpu_set in placements.items():
            if cpu_set:
                os.sched_setaffinity(0, cpu_set)  # new threads inherit the caller's
            for name, way in order:
                delays, rate = _round(way, args.samples, loops)
                kept = results.setdefault((place, name), ([], []))
                kept[0].extend(delays)
                kept[1].append(rate)
    print(platform_line())
    print(f"switch interval {sys.getswitchinterval() * 1000:.0f} ms; {args.rounds} rounds of "
          f"{args.samples} wake-ups after a {NAP * 1e6:.0f} us sleep; export slices of ~300 us\n")
    rows = []
    for place in placements:
        base = percentile(results[(place, "no export thread")][0], 0.5)
        for name, way in WAYS:
            delays, rates = results[(place, name)]
            extra = [d - base for d in delays]
            rows.append([place, name, f"{percentile(extra, 0.5):.0f}", f"{percentile(extra, 0.99):.0f}",
                         f"{max(extra):.0f}", "" if way is None else f"{sum(rates) / len(rates):.0f}"])
    print(table(["process on", "export steps aside", "wait p50 us", "wait p99 us", "wait max us",
                 "export slices/s"], rows))
    print("\nwait: a wake-up's delay beyond the no-export baseline's median delay (the sleep's "
          "own overshoot)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
