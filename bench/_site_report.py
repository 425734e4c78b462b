"""The Markdown table of ``bench_site_load.py``, from what its blocks measured."""

from __future__ import annotations

import argparse
from typing import Any

from _common import median, percentile, platform_line, table


def _cell(fig: dict[str, float], base: dict[str, float] | None, key: str, digits: int) -> str:
    """A figure, and its ratio to "off" unless it is off's own row."""
    ratio = "" if base is None or not base[key] else f" ({fig[key] / base[key]:.2f}x)"
    return f"{fig[key]:.{digits}f}{ratio}"


def report(results: dict[str, list[dict[str, Any]]], args: argparse.Namespace, ga: Any) -> None:
    rows: list[list[str]] = []
    base: dict[str, float] = {}
    noise = []
    for name, blocks in results.items():
        seconds = sum(b["pages"]["us"] for b in blocks) / 1e6
        pages = sum(b["pages"]["requests"] for b in blocks)
        errors = sum(b["pages"]["errors"] for b in blocks)
        tasks = [t for b in blocks for t in b["tasks"]]
        q = {p: median(b["pages"][p] for b in blocks) / 1000 for p in ("p50", "p90", "p99")}
        fig = {"rps": pages / seconds, "p50": q["p50"], "p90": q["p90"], "p99": q["p99"],
               "tps": len(tasks) / seconds, "t50": 1000 * percentile(tasks, 0.5) if tasks else 0,
               "t99": 1000 * percentile(tasks, 0.99) if tasks else 0,
               "cpu_page": 1000 * sum(b["web_cpu"] for b in blocks) / max(pages, 1),
               "cpu_task": 1000 * sum(b["task_cpu"] for b in blocks) / max(len(tasks), 1)}
        first = not base
        base = base or fig
        cells = [_cell(fig, None if first else base, k, d) for k, d in
                 (("rps", 0), ("p50", 1), ("p90", 1), ("p99", 1), ("tps", 1), ("t50", 1), ("t99", 1),
                  ("cpu_page", 2), ("cpu_task", 2))]
        rows.append([name, *cells, f"{errors}"])
        per_block = [b["pages"]["requests"] / b["pages"]["us"] * 1e6 for b in blocks]
        noise.append(f"{name} {min(per_block):.0f}-{max(per_block):.0f}")
    print(platform_line())
    count = len(next(iter(results.values())))
    print(f"{count} blocks of {args.block:.0f} s per configuration, balanced orders; "
          f"wrk -c{args.connections} GET /dashboard/ (40 kB); {args.task_rate:g} tasks/s queued; "
          "gunicorn 3 sync workers, Celery threads x5\n")
    print(table(["config", "pages/s", "p50 ms", "p90 ms", "p99 ms", "tasks/s", "task p50 ms", "task p99 ms",
                 "CPU ms/page", "CPU ms/task", "errors"], rows))
    print(f"\nnoise: pages/s of single blocks: {', '.join(noise)}")
    if "on" in results:
        from bench_request import TOKENS

        served = sum(b["pages"]["requests"] for b in results["on"])
        ran = sum(b["sent"] for b in results["on"])
        print(f"GA (on): {len(ga.events('page_view')):,} page_view events at the collector for "
              f"{served:,} pages x {TOKENS} tokens; {len(ga.events('celery_event')):,} celery_event events "
              f"for {ran:,} tasks "
              f"(+1 start-up check) x {TOKENS} (after the stacks' graceful stop)")

