"""Instructions per page view and per task, counted by callgrind: the ratios without the noise.

On a shared or virtual machine the timings of ``bench_request.py`` and ``bench_task.py`` drift by
tens of percent within minutes. ``valgrind --tool=callgrind`` counts executed instructions
instead, which repeat exactly for the same code and input whatever the machine is doing. Each
variant's worker (the same child processes as the timing scripts, variants a, b and c) runs under
callgrind; after the warm-up its counters are zeroed (``callgrind_control -z``), then it serves
``--units`` requests or tasks, and the counters are dumped (``callgrind_control -d``) per thread:
the request (or task) thread's own instructions. Then the span processors are flushed and dumped
again: with what the export thread did meanwhile, the export's instructions (mapping, JSON, HTTP
to the loopback GA). Garbage collection is counted in whichever thread triggers it, as it
happens in a real process.

(d) and (e) are left to the timing scripts: (d) runs a hundred times longer, and (e)'s cost is
its retry timers, which callgrind's slowdown would distort.

Run from the repository root (about 6 minutes on 2 CPUs; the variants run in parallel):

    .venv/bin/python bench/bench_instructions.py [--kinds request,task] [--units 200]
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Worker, delete_keys, platform_line, table
from bench_request import VARIANTS as REQUEST_VARIANTS
from bench_request import start_collector, variant_env
from bench_task import VARIANTS as TASK_VARIANTS

SCRIPTS = {"request": Path(__file__).resolve().parent / "bench_request.py",
           "task": Path(__file__).resolve().parent / "bench_task.py"}
NAMES = {"request": REQUEST_VARIANTS, "task": TASK_VARIANTS}
# What otel-aa may add to a request or task thread, as a share of the bare instrumentation's cost
# (issue 13 for pages).
TARGETS = {"request": "<= 0.5", "task": "<= 1.2"}
_TOTALS = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


def _control(option: str, pid: int) -> None:
    subprocess.run(["callgrind_control", option, str(pid)], check=True, capture_output=True, timeout=120)


def _thread_totals(out_prefix: str) -> dict[int, int]:
    """Instructions per thread (1 = the main thread) in the dumps written under ``out_prefix``."""
    totals: dict[int, int] = {}
    for path in glob.glob(f"{out_prefix}.*-*"):
        thread = int(path.rsplit("-", 1)[1])
        match = _TOTALS.search(Path(path).read_text(errors="replace"))
        if match:
            totals[thread] = totals.get(thread, 0) + int(match.group(1))
    return totals


def measure(kind: str, variant: str, env: dict[str, str], tmp: str, units: int,
            warmup: int) -> dict[str, Any]:
    out = os.path.join(tmp, f"cg-{kind}-{variant}")
    prefix = ["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={out}",
              "--dump-instr=no", "--collect-jumps=no"]
    worker = Worker(SCRIPTS[kind], variant, env, prefix=prefix, pin=False)
    try:
        worker.ask("run", n=warmup)
        pid = worker.proc.pid
        _control("-d", pid)  # start-up and warm-up go into dumps of their own, deleted
        for path in glob.glob(f"{out}.*-*"):
            os.remove(path)
        worker.ask("run", n=units, flush=False)
        _control("-d", pid)
        served = _thread_totals(out)
        for path in glob.glob(f"{out}.*-*"):
            os.remove(path)
        # The SDK exports a flush on the flushing thread: all of it is export work.
        worker.ask("flush")
        _control("-d", pid)
        flushed = _thread_totals(out)
    finally:
        worker.close()
    main = served.pop(1, 0)
    export = sum(served.values()) + sum(flushed.values())
    return {"main": main / units, "background": export / units}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kinds", default="request,task")
    parser.add_argument("--variants", default="abc")
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args()
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("valgrind (with callgrind_control) is not installed: apt-get install valgrind")
        return 1

    tmp = tempfile.mkdtemp(prefix="otelaa-bench-cg-")
    redis_prefix = f"otelaa-bench-{uuid.uuid4().hex[:8]}:"
    collector = start_collector()
    jobs = []
    try:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for kind in args.kinds.split(","):
                for v in args.variants:
                    env = variant_env(v, tmp, f"{redis_prefix}{kind}-{v}:", collector.endpoint,
                                      f"bench-cg-{kind}-{v}")
                    jobs.append((kind, v, pool.submit(measure, kind, v, env, tmp, args.units, args.warmup)))
            results = {(kind, v): job.result() for kind, v, job in jobs}
    finally:
        collector.close()
        delete_keys(redis_prefix)
        shutil.rmtree(tmp, ignore_errors=True)

    print(platform_line())
    print(f"callgrind, {args.units} units per variant after {args.warmup} warm-up; instructions per unit\n")
    for kind in args.kinds.split(","):
        got = {v: results[(kind, v)] for v in args.variants}
        rows = []
        for v, r in got.items():
            over = "-" if v == "a" or "a" not in got else f"{r['main'] - got['a']['main']:+,.0f}"
            rows.append([v, NAMES[kind][v], f"{r['main']:,.0f}", over, f"{r['background']:,.0f}"])
        print(table(["", "variant", f"{kind} thread", "over (a)", "export"], rows))
        if {"a", "b", "c"} <= set(got):
            a, b, c = (got[x]["main"] for x in "abc")
            total = (c + got["c"]["background"] - a - got["a"]["background"]) / max(
                b + got["b"]["background"] - a - got["a"]["background"], 1)
            print()
            print(table(["ratio", "measured", "target"], [
                [f"(c-a) / (b-a), {kind} thread", f"{(c - a) / max(b - a, 1):.2f}", TARGETS[kind]],
                ["(c-a) / (b-a), with the export", f"{total:.2f}", "(for comparison)"],
            ]))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
