"""The tables and PASS/FAIL lines of ``bench_outage.py``, from what its outages measured."""

from __future__ import annotations

import argparse
from typing import Any

from _common import PEAK_PAGE_VIEWS_PER_S, PEAK_TASKS_PER_S, platform_line, table
from bench_request import TOKENS

MODES = {"slow": "GA answers after the timeout", "refused": "connection refused", "503": "GA answers 503"}
EXPORT_THREAD_PREFIX = "OtelBatchSpan"
#: One export cycle with GA down: the exporter's retry budget, plus the worst backoff and the
#: batch processor's schedule delay: delivery must resume within it without any help.
RESUME_WITHIN_S = 30 + 8 + 5
#: Memory targets: the outage's second half adds at most this (the queue is full by then) ...
FLAT_MB = 3.0
#: ... and the whole outage at most this over the healthy warm-up (a full queue of spans).
BOUNDED_MB = 30.0


def report(outages: list[Any], args: argparse.Namespace) -> int:
    print(platform_line())
    print(f"{args.spans:,} spans ({PEAK_PAGE_VIEWS_PER_S}:{PEAK_TASKS_PER_S} page views to tasks) in "
          f"{args.outage_seconds:.0f} s of outage, exporter timeout {args.timeout} s, {TOKENS} tokens; "
          f"then {args.recovery_seconds:.0f} s of traffic with GA back\n")
    print("RSS MB during the outage")
    samples = [o.out["outage"]["samples"] for o in outages]
    rows = []
    for i in range(min(len(s) for s in samples)):
        rows.append([f"{samples[0][i][1]:,}", *(f"{s[i][2]:.1f}" for s in samples)])
    print(table(["spans fed", *(o.mode for o in outages)],
                [["(healthy warm-up)", *(f"{o.out['rss_warm']:.1f}" for o in outages)], *rows]))
    failed = 0
    for o in outages:
        failed += report_one(o, args)
    return 1 if failed else 0


def report_one(o: Any, args: argparse.Namespace) -> int:
    out = o.out
    fed = out["final"]["fed"]
    fed_total = sum(fed.values())
    # The collector's record starts afresh when GA comes back: "after" counts are since then.
    phases = ("before", "after_by_itself", "after_flush")
    before, after, after_flush = (sum(out[k].values()) / TOKENS for k in phases)
    final = before + after_flush
    # While the backlog drains, the queue stays full a little longer and drops new spans: those
    # fed after recovery that were dropped don't count as delivered from that phase.
    late_drops = out["final"]["queue_full"] - out["at_recovery"]["queue_full"]
    kept = after - (out["recovery_spans"] - late_drops)
    drops = out["final"]["drops"]
    queue_full = out["final"]["queue_full"]
    accounted = final * TOKENS + sum(drops.values()) + queue_full * TOKENS
    threads = out["final"]["threads"]
    export_cpu = sum(ns for name, ns in threads.items() if name.startswith(EXPORT_THREAD_PREFIX)) / 1e9
    print(f"\n### {o.mode}: {MODES[o.mode]}\n")
    rows = [
        ["spans fed (page views + tasks)", f"{fed_total:,} ({fed['page_view']:,} + {fed['celery_event']:,})"],
        ["events per token delivered before GA went away or during the outage", f"{before:,.0f}"],
        ["HTTP attempts GA saw during the outage", "n/a (refused)" if out["attempts"] is None
         else f"{out['attempts']:,}"],
        ["export cycles in the outage (30 s retry budget each)", f"{args.outage_seconds / 30:.0f}"],
        ["first delivery after GA came back, s", "never" if out["first_hit_s"] is None
         else f"{out['first_hit_s']:.1f}"],
        ["events per token kept through the outage, delivered after", f"{kept:,.0f}"],
        ["events per token delivered after recovery, no flush", f"{after:,.0f} "
         f"({out['recovery_spans']:,} spans fed after recovery, {late_drops:,} of them dropped at the "
         "still-full queue)"],
        ["events per token delivered in all (after the final flush)", f"{final:,.0f}"],
        ["spans dropped at the full queue (allowlist processor)", f"{queue_full:,}"],
        *([f"events dropped by the exporter: {reason}", f"{count:,}"]
          for reason, count in sorted(drops.items())),
        ["events accounted for (delivered + dropped) / fed x tokens",
         f"{accounted:,.0f} / {fed_total * TOKENS:,}"],
        ["export thread CPU s over the run", f"{export_cpu:.1f}"],
        ["  per second of outage and recovery, ms",
         f"{1000 * export_cpu / (out['outage']['seconds'] + args.recovery_seconds):.1f}"],
    ]
    print(table(["", "value"], rows))
    rss = [s[2] for s in out["outage"]["samples"]]
    half = rss[len(rss) // 2:]
    second_half = max(half) - half[0]
    overall = max(rss) - out["rss_warm"]
    flat = second_half <= FLAT_MB and overall <= BOUNDED_MB
    resumed = (out["first_hit_s"] is not None and out["first_hit_s"] <= RESUME_WITHIN_S
               and kept > 0)
    print(f"\n{'PASS' if flat else 'FAIL'} {o.mode}: memory stays flat (outage's second half "
          f"{second_half:+.1f} MB, target <= {FLAT_MB:.0f}; whole outage over warm-up {overall:+.1f} MB, "
          f"target <= {BOUNDED_MB:.0f})")
    print(f"{'PASS' if resumed else 'FAIL'} {o.mode}: delivery resumes by itself (first hit "
          f"{out['first_hit_s'] if out['first_hit_s'] is None else round(out['first_hit_s'], 1)} s after "
          f"recovery, target <= {RESUME_WITHIN_S}; without a flush, {after:,.0f} events per token "
          f"delivered after recovery, {kept:,.0f} of them kept through the outage)")
    if not out["healthy"]:
        print(f"FAIL {o.mode}: the healthy warm-up was not delivered: the run measured a broken pipeline")
    return int(not (flat and resumed and out["healthy"]))

