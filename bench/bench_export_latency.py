"""Requests don't wait for the export: page latency while an export runs, against idle.

Each variant's process runs otel-aa's full GA pipeline (``otel_aa.configure()``, three tokens, a
loopback GACollector in the parent on another CPU) and serves the 40 kB page of
``bench_request.py`` back to back on one thread, in-process (a busy sync worker with no socket
I/O between requests: the worst case, since a real worker's socket reads and writes release the
GIL). The variants differ only in the last stage, how each request body reaches GA, so the
table tells what the export's sending costs the site apart from everything before it:

  otel-aa   as shipped: ``_Transport.send`` on the urllib3 pool of ``requests``' adapter (the
            retry loop, deadlines, instrumentation suppressed, outcome sorted)
  no-yield  as shipped, but never stepping aside for the site (``_Pipeline.step_aside``, between
            stretches of 25 spans mapped and before each request to GA): what otel-aa did
            before; every other variant steps aside as shipped, so they differ from otel-aa in
            the sender alone
  yield-0   as shipped, but stepping aside with ``time.sleep(0)``: the GIL is let go and taken
            straight back unless the waiting thread gets there first (``--spread``: with every
            process on every CPU)
  pool      the least any sender on ``requests``' transport does: one ``urlopen`` per POST on
            that same pool, nothing around it (a floor for the transport the design names)
  plain     the plainest sender of the same bodies: ``http.client``, one kept-alive connection,
            one ``request()`` per POST, the same timeout; no retries, no pool (a floor, not a
            transport otel-aa could ship)
  elsewhere each body in a frame over a pipe to a helper process on the other CPU, which POSTs
            it with ``requests`` and writes back one byte: what a delivery process of its own
            would cost the site's CPU, on a machine with a core to spare (the helper's answer is
            awaited per POST, as ``_send`` returns an outcome; a real one would batch)
  raw       the bytes alone: one ``sendall`` of the request (line, three headers, body) and one
            ``recv`` of the answer on a kept-alive socket; what moving these bytes costs, with
            no HTTP client at all (a measurement, not something to ship)
  none      no HTTP at all: every body is reported sent at once (allowlist, mapping, limits,
            JSON and the admin's ledger still run)

Every variant's delivery observer (the ledger) sees each body, as in production. Two kinds of
round per variant, all interleaved in balanced orders so the machine's drift lands on all alike:

  idle       the span queue was just flushed; N requests (flushed again, untimed, before each
             499), no export runs (checked: no other thread of the process gets CPU meanwhile)
  exporting  the queue is filled to the batch size (500 spans, otel-aa's GA batch), so the SDK's
             export thread starts an export of 500 spans x 3 tokens, as it does under load;
             the requests served from the first one the export thread ran during to the last
             one are timed

The export is told apart from the request thread by the CPU clocks of the process's threads
(``pthread_getcpuclockid``), whatever thread the SDK uses.

Run from the repository root:

    .venv/bin/python bench/bench_export_latency.py           # ~7 min
    .venv/bin/python bench/bench_export_latency.py --quick   # ~40 s, to check it runs
    .venv/bin/python bench/bench_export_latency.py --spread --senders otel-aa,no-yield,yield-0

How to read it: "overhead" is a variant's exporting rounds' mean and p99 over its own idle
rounds'; the noise line compares two halves of the idle rounds. "lost / export CPU" is what the
exporting rounds' requests took beyond idle requests, summed, over the export thread's CPU
meanwhile: near 1, the requests waited exactly for the export's own work (one CPU, one GIL), so
the overhead is the export's CPU spread over the pages, shown per page view. ``none`` against
the others splits that CPU into building the bodies and sending them; ``plain`` is what sending
these bodies costs the site at the least, in this process.

The third table needs no idle round to compare against: each request's wall time is split,
from the thread CPU clocks read around it, into the request thread's own CPU (the garbage
collector's runs on that thread shown apart), the other threads' CPU inside it (the export)
and the rest (nothing of this process on the CPU). Taking each exporting request's share of
the export out and ranking again gives the p99 the requests would have had if they had not
waited for the export's own work; the band around the p99 shows what it is made of.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    Worker,
    background_cpu_ns,
    balanced_orders,
    cpu_split,
    delete_keys,
    percentile,
    platform_line,
    serve,
    table,
    thread_cpu_ns,
)
from bench_request import (
    TOKENS,
    page_server,
    start_collector,
    start_django,
    variant_env,
)
from opentelemetry.exporter.google_analytics import RECOMMENDED_EXPORT_BATCH_SIZE

#: Another thread ran during a request when the process's other threads gained more CPU than
#: this: the two clock reads behind ``background_cpu_ns`` are not one atomic read, and their
#: jitter (well under a microsecond) must not count as an export running.
RAN_NS = 5_000
#: The export thread's name in the SDK (``OtelBatchSpanRecordProcessor`` today); only for the
#: per-thread figure: the rounds are classified by all other threads' CPU.
EXPORT_THREAD_PREFIX = "OtelBatchSpan"


#: The "elsewhere" variant's helper: frames in (meta, body), one byte out per POST.
_HELPER = """
import json, struct, sys
import requests
session, read, out = requests.Session(), sys.stdin.buffer.read, sys.stdout.buffer
while len(head := read(8)) == 8:
    n, m = struct.unpack("!II", head)
    (url, headers), body = json.loads(read(n)), read(m)
    try:
        ok = session.post(url, data=body, headers=headers, timeout=2).status_code == 204
    except requests.RequestException:
        ok = False
    out.write(b"1" if ok else b"0")
    out.flush()
"""

#: The variants, in the order of the tables.
SENDERS = {
    "otel-aa": "as shipped (_Transport on requests' urllib3 pool)",
    "no-yield": "as shipped, never stepping aside",
    "yield-0": "as shipped, stepping aside with sleep(0)",
    "pool": "one urlopen per POST on that pool, nothing else",
    "plain": "http.client, one request() per POST (a floor)",
    "elsewhere": "a pipe to a helper process on the other CPU",
    "raw": "one sendall, one recv per POST: the bytes alone",
    "none": "no HTTP: bodies built, reported sent",
}


# --- the child process ------------------------------------------------------------------------


def _install_sender(variant: str) -> dict[str, int]:
    """Swap the last stage for ``variant``'s; count the events x tokens each export delivers.

    Bench-only: these reach into otel-aa's private modules on purpose, to take one stage out.
    Every swapped-in sender gets the token's route as the transport computed it, POSTs the body
    its own way, and tells the delivery observer, as the shipped stage does.
    """
    import http.client
    import json
    import socket
    import struct
    import subprocess
    import threading
    from urllib.parse import SplitResult, urlsplit

    from opentelemetry.exporter.google_analytics import _pipeline

    kept = threading.local()  # one connection per sending thread: the metric reader sends too

    def connection(make: Any) -> Any:
        conn = getattr(kept, "conn", None)
        if conn is None:
            conn = kept.conn = make()
        return conn

    def pool(transport: Any, target: str, headers: dict[str, str], url: SplitResult,
             body: bytes) -> bool:
        answer = transport._connection_pool().urlopen(
            "POST", target, body=body, headers=headers, retries=False, redirect=False,
            timeout=transport.timeout, preload_content=True)
        return bool(answer.status == 204)

    def plain(transport: Any, target: str, headers: dict[str, str], url: SplitResult,
              body: bytes) -> bool:
        conn = connection(lambda: http.client.HTTPConnection(
            url.hostname or "127.0.0.1", url.port, timeout=transport.timeout))
        conn.request("POST", target, body=body, headers=dict(headers))
        answer = conn.getresponse()
        answer.read()
        return bool(answer.status == 204)

    def raw(transport: Any, target: str, headers: dict[str, str], url: SplitResult,
            body: bytes) -> bool:
        sock = connection(lambda: socket.create_connection(
            (url.hostname or "127.0.0.1", url.port or 80), timeout=transport.timeout))
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"POST {target} HTTP/1.1\r\nHost: {url.netloc}\r\n{head}"
                     f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        answer = b""
        while b"\r\n\r\n" not in answer:  # a 204 is its head alone
            answer += sock.recv(65536)
        return answer.split(b" ", 2)[1] == b"204"

    def none(transport: Any, target: str, headers: dict[str, str], url: SplitResult,
             body: bytes) -> bool:
        return True

    # Each: (transport, request target, headers, the split full URL, body) -> sent.
    posts: dict[str, Callable[[Any, str, dict[str, str], SplitResult, bytes], bool]] = {
        "pool": pool, "plain": plain, "raw": raw, "none": none}
    if variant == "elsewhere":
        helper = subprocess.Popen([sys.executable, "-c", _HELPER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, bufsize=0)
        spare = cpu_split()[1]
        if spare and hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(helper.pid, spare)
        lock = threading.Lock()

        def elsewhere(transport: Any, target: str, headers: dict[str, str], url: SplitResult,
                      body: bytes) -> bool:
            meta = json.dumps([f"{url.scheme}://{url.netloc}{target}", dict(headers)]).encode()
            assert helper.stdin is not None and helper.stdout is not None
            with lock:  # one pipe for every sending thread
                helper.stdin.write(struct.pack("!II", len(meta), len(body)) + meta + body)
                return bool(helper.stdout.read(1) == b"1")

        posts["elsewhere"] = elsewhere
    post = posts.get(variant)  # None: otel-aa's own stage, as shipped
    if variant == "no-yield":
        _pipeline._Pipeline.step_aside = lambda self: None  # type: ignore[method-assign]
    elif variant == "yield-0":
        _pipeline._Pipeline.step_aside = lambda self: time.sleep(0)  # type: ignore[method-assign]
    shipped = _pipeline._Pipeline._send
    # Counted per body as it is sent, so an export still running when a round ends counts as
    # far as it got, as its CPU does.
    counted = {"event_tokens": 0}

    def send(self: Any, token: Any, body: bytes, count: int, deadline: float) -> bool:
        if post is None:
            sent = bool(shipped(self, token, body, count, deadline))
        else:
            target, headers, full_url = self.transport._route(token)
            sent = post(self.transport, target, headers, urlsplit(full_url), body)
            self._observe(token, body, sent)
        counted["event_tokens"] += count
        return sent

    _pipeline._Pipeline._send = send  # type: ignore[method-assign]
    return counted


def worker(variant: str) -> None:
    start_django("c")
    from opentelemetry import trace

    counted = _install_sender(variant)
    serve_page = page_server(f"variant {variant}")
    dropped = [0]

    class _QueueFull(logging.Handler):
        """Spans the SDK's span queue dropped (it logs each): an export that fell behind."""

        def emit(self, record: logging.LogRecord) -> None:
            dropped[0] += record.getMessage().startswith("Queue full")

    logging.getLogger("opentelemetry.sdk._shared_internal").addHandler(_QueueFull())

    def one() -> None:
        serve_page()

    def flush() -> None:
        provider: Any = trace.get_tracer_provider()
        provider.force_flush(30_000)

    def export_cpu() -> int:
        return sum(ns for name, ns in thread_cpu_ns().items() if name.startswith(EXPORT_THREAD_PREFIX))

    def export_user_system() -> tuple[int, int]:
        """The export thread's CPU so far, split into user and kernel time (clock ticks).

        User time is what holds the GIL; the kernel's part (the sockets, loopback TCP) runs
        beside a request on a host with a core to spare, though not on this bench's one CPU.
        """
        user = system = 0
        for thread in threading.enumerate():
            if thread.name.startswith(EXPORT_THREAD_PREFIX) and thread.native_id is not None:
                try:
                    stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
                except OSError:  # ended meanwhile, or no /proc
                    continue
                fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)", comm may hold spaces
                user, system = user + int(fields[11]), system + int(fields[12])
        return user, system

    # The garbage collector's time on the request thread: the export's allocations count
    # towards the collections whichever thread runs them.
    collected, began, request_thread = [0], [0], threading.get_ident()

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if threading.get_ident() == request_thread:
            if phase == "start":
                began[0] = time.perf_counter_ns()
            else:
                collected[0] += time.perf_counter_ns() - began[0]

    gc.callbacks.append(on_gc)

    def timed(n: int) -> dict[str, list[int]]:
        """Time ``n`` requests, each: wall, the request thread's own CPU and GC, the others' CPU."""
        timings: dict[str, list[int]] = {"ns": [], "own_ns": [], "others_ns": [], "gc_ns": []}
        samples, own, others, collecting = timings.values()
        clock, mine, everyone = time.perf_counter_ns, time.thread_time_ns, time.process_time_ns
        for _ in range(n):
            g0 = collected[0]
            # Each (process, thread) pair read back to back, as in background_cpu_ns, so the
            # reads' own CPU cancels out of the other threads' share.
            p0, c0 = everyone(), mine()
            t0 = clock()
            one()
            t1 = clock()
            p1, c1 = everyone(), mine()
            samples.append(t1 - t0)
            own.append(c1 - c0)
            others.append((p1 - c1) - (p0 - c0))
            collecting.append(collected[0] - g0)
        return timings

    def idle(n: int) -> dict[str, Any]:
        # Flushed (untimed) before every batch's worth: the batch-th span would start an export.
        timings: dict[str, list[int]] = {"ns": [], "own_ns": [], "others_ns": [], "gc_ns": []}
        e = b = 0
        while len(timings["ns"]) < n:
            flush()
            e0, b0 = export_cpu(), background_cpu_ns()
            chunk = timed(min(n - len(timings["ns"]), RECOMMENDED_EXPORT_BATCH_SIZE - 1))
            e, b = e + export_cpu() - e0, b + background_cpu_ns() - b0
            for key, values in chunk.items():
                timings[key] += values
        return {**timings, "export_cpu_ns": e, "background_ns": b}

    def exporting(n: int) -> dict[str, Any]:
        flush()
        for _ in range(RECOMMENDED_EXPORT_BATCH_SIZE):  # the last span wakes the export thread
            one()
        e0, b0, c0, d0 = export_cpu(), background_cpu_ns(), counted["event_tokens"], dropped[0]
        u0, k0 = export_user_system()
        timings = timed(n)
        u1, k1 = export_user_system()
        return {**timings, "export_cpu_ns": export_cpu() - e0,
                "background_ns": background_cpu_ns() - b0,
                "event_tokens": counted["event_tokens"] - c0, "queue_drops": dropped[0] - d0,
                "export_user_ticks": u1 - u0, "export_system_ticks": k1 - k0}

    def warm(n: int) -> dict[str, Any]:
        for _ in range(n):
            one()
        flush()
        return {}

    def flushed() -> dict[str, Any]:
        flush()
        return {}

    serve({"idle": idle, "exporting": exporting, "warm": warm, "flush": flushed},
          {"variant": variant, "pid": os.getpid()})


# --- the parent -------------------------------------------------------------------------------


def stats(values: list[float]) -> dict[str, float]:
    return {"mean": statistics.fmean(values), "p50": percentile(values, 0.5),
            "p90": percentile(values, 0.9), "p99": percentile(values, 0.99)}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=24,
                        help="rounds of each kind per variant (a multiple of 12 is fully balanced)")
    # A round must outlast an export: under load one takes 0.1-2 s.
    parser.add_argument("--per-round", type=int, default=1000, help="requests per round")
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--senders", default=",".join(SENDERS),
                        help=f"variants to run, of {', '.join(SENDERS)}")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 500: a check that it runs")
    parser.add_argument("--spread", action="store_true",
                        help="leave the variants' processes on every CPU, as a site's are, "
                             "instead of one CPU each")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return 0
    if args.quick:
        args.rounds, args.per_round, args.warmup = 2, 500, 600
    senders = [v for v in args.senders.split(",") if v]
    unknown = set(senders) - set(SENDERS)
    if unknown:
        parser.error(f"unknown senders: {', '.join(sorted(unknown))}")

    prefix = f"otelaa-bench-{uuid.uuid4().hex[:8]}:"
    collector = start_collector()
    workers: list[Worker] = []
    items = [(v, kind) for v in senders for kind in ("idle", "exporting")]
    results: dict[str, dict[str, list[dict[str, Any]]]] = {v: {"idle": [], "exporting": []} for v in senders}
    try:
        for v in senders:
            env = variant_env("c", tempfile.mkdtemp(prefix="otelaa-bench-"), f"{prefix}{v}:",
                              collector.endpoint, "bench-latency")
            # Exports start only when the queue holds a batch (as under load), never on the timer.
            env["OTEL_BSP_SCHEDULE_DELAY"] = "3600000"
            workers.append(Worker(Path(__file__), v, env, pin=not args.spread))
        by_name = {w.variant: w for w in workers}
        for w in workers:
            w.ask("warm", n=args.warmup)
        orders = balanced_orders(len(items))
        for r in range(args.rounds):
            for index in orders[r % len(orders)]:
                v, kind = items[index]
                w = by_name[v]
                if kind == "exporting":
                    w.ask("flush")  # apart: the round's exports are its own
                results[v][kind].append(w.ask(kind, n=args.per_round))
        report(results, args)
        return 0
    finally:
        for w in workers:
            w.close()
        collector.close()
        delete_keys(prefix)


def _variant_figures(rs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    us = {k: [ns / 1000 for r in v for ns in r["ns"]] for k, v in rs.items()}
    s = {k: stats(v) for k, v in us.items()}
    halves = [stats([ns / 1000 for r in rs["idle"][i::2] for ns in r["ns"]]) for i in (0, 1)]
    exp = rs["exporting"]
    event_tokens = sum(r["event_tokens"] for r in exp)
    exports = event_tokens / (RECOMMENDED_EXPORT_BATCH_SIZE * TOKENS)
    cpu_ms = sum(r["export_cpu_ns"] for r in exp) / 1e6
    lost_ms = (sum(us["exporting"]) - len(us["exporting"]) * s["idle"]["mean"]) / 1000
    page_us = cpu_ms * 1000 / max(exports, 1e-9) / RECOMMENDED_EXPORT_BATCH_SIZE
    return {"s": s, "halves": halves, "exports": exports, "cpu_ms": cpu_ms, "lost_ms": lost_ms,
            "page_us": page_us, "overlapped": _overlapped(exp),
            "requests": len(us["exporting"]), "drops": sum(r["queue_drops"] for r in exp),
            "idle_overlap": _overlapped(rs["idle"])}


def _overlapped(rounds: list[dict[str, Any]]) -> int:
    """Requests during which another thread of the process (the export) got CPU."""
    return sum(ns > RAN_NS for r in rounds for ns in r["others_ns"])


def report(results: dict[str, dict[str, list[dict[str, Any]]]], args: argparse.Namespace) -> None:
    print(platform_line())
    print("every process on every CPU" if args.spread else
          "every variant's process on one CPU, the loopback GA on another")
    print(f"{args.rounds} idle and {args.rounds} exporting rounds per variant, all interleaved "
          f"(balanced orders); rounds of {args.per_round} requests; GET /dashboard/, 40 kB, "
          f"in-process WSGI, {TOKENS} tokens, loopback GA; exports of "
          f"{RECOMMENDED_EXPORT_BATCH_SIZE} spans x {TOKENS} tokens\n")
    figures = {v: _variant_figures(rs) for v, rs in results.items()}

    def change(x: float, y: float) -> str:
        return f"{x / y - 1:+.1%}"

    rows = []
    for v, f in figures.items():
        s, (a, b) = f["s"], f["halves"]
        rows.append([v, SENDERS[v], f"{s['idle']['mean']:.0f}", f"{s['exporting']['mean']:.0f}",
                     change(s["exporting"]["mean"], s["idle"]["mean"]),
                     f"{s['idle']['p99']:.0f}", f"{s['exporting']['p99']:.0f}",
                     change(s["exporting"]["p99"], s["idle"]["p99"]),
                     f"{change(b['mean'], a['mean'])} / {change(b['p99'], a['p99'])}"])
    print(table(["variant", "last stage", "idle mean us", "exporting mean us", "mean overhead",
                 "idle p99 us", "exporting p99 us", "p99 overhead", "noise mean / p99"], rows))

    built = figures.get("none", {}).get("page_us")

    def sending(v: str) -> float | None:
        f = figures.get(v)
        return None if f is None or built is None or v == "none" else f["page_us"] - built

    def over(v: str, floor: str) -> str:
        mine, base = sending(v), sending(floor)
        return "" if mine is None or not base else f"{mine / base:.2f}"

    rows = []
    for v, f in figures.items():
        send = sending(v)
        rows.append([
            v, f"{f['exports']:.1f}", f"{f['overlapped']} of {f['requests']}", f"{f['cpu_ms']:.0f}",
            f"{f['lost_ms']:.0f}", f"{f['lost_ms'] / max(f['cpu_ms'], 1e-9):.2f}",
            f"{f['page_us']:.0f}", f"{f['page_us'] / f['s']['idle']['mean']:.1%}",
            "" if send is None else f"{send:.0f}", over(v, "pool"), over(v, "plain"), f["drops"],
        ])
    print()
    print(table(["variant", "exports", "requests the export ran during", "export CPU ms",
                 "request time lost ms", "lost / export CPU", "export CPU per page view us",
                 "share of an idle page", "of it sending us", "sending / pool's",
                 "sending / plain's", "spans the queue dropped"], rows))
    rows = [_attribution(v, rs) for v, rs in results.items()]
    print()
    print(table(["variant", "own CPU mean us, idle > exporting", "of it GC mean us",
                 "export CPU inside a request, mean us", "rest mean us, idle > exporting",
                 "p99 us, idle > exporting", "exporting p99 without the export's CPU us",
                 "p99.9 us, idle > exporting",
                 "at the p99, exporting: wall / own / export's us",
                 "at the p99, idle: wall / own / others' us",
                 "export CPU in user mode"], rows))
    idle = ", ".join(f"{v} {f['idle_overlap']}" for v, f in figures.items())
    print(f"\nidle requests during which another thread ran (should be ~0): {idle}")
    print("'of it sending': export CPU per page view beyond the 'none' variant's (which builds "
          "the same bodies and sends nothing); 'sending / pool's' and '/ plain's': that, over "
          "the floor's.")
    print("Third table, per request from the thread CPU clocks: 'own' is the request thread's "
          "CPU, 'export's' the other threads' CPU during the request, 'rest' the wall time left "
          "(other processes, interrupts). 'without the export's CPU': each exporting request's "
          "wall less the export's CPU inside it. 'user mode': the export thread's user time over "
          "its user and kernel time (from /proc), the part that holds the GIL. 'at the p99': means "
          "over the requests ranked p98.5 to p99.5.")


def _attribution(variant: str, rs: dict[str, list[dict[str, Any]]]) -> list[str]:
    """One row: where each request's wall time went, idle against exporting."""
    def columns(kind: str) -> tuple[list[int], list[int], list[int], list[int]]:
        return tuple([ns for r in rs[kind] for ns in r[key]]  # type: ignore[return-value]
                     for key in ("ns", "own_ns", "others_ns", "gc_ns"))

    (wall_i, own_i, others_i, gc_i), (wall_e, own_e, others_e, gc_e) = (
        columns("idle"), columns("exporting"))

    def mean(values: list[int]) -> float:
        return statistics.fmean(values) / 1000

    def rest(wall: list[int], own: list[int], others: list[int]) -> list[int]:
        return [w - o - x for w, o, x in zip(wall, own, others, strict=True)]

    def at_p99(wall: list[int], *more: list[int]) -> str:
        """Means over the requests ranked p98.5 to p99.5 by wall time: the p99's make-up."""
        ranked = sorted(range(len(wall)), key=wall.__getitem__)
        band = ranked[int(0.985 * len(wall)):int(0.995 * len(wall))] or ranked[-1:]
        return " / ".join(f"{statistics.fmean(col[i] for i in band) / 1000:.0f}"
                          for col in (wall, *more))

    user = sum(r["export_user_ticks"] for r in rs["exporting"])
    system = sum(r["export_system_ticks"] for r in rs["exporting"])
    without = [w - x for w, x in zip(wall_e, others_e, strict=True)]
    return [variant, f"{mean(own_i):.0f} > {mean(own_e):.0f}",
            f"{mean(gc_i):.0f} > {mean(gc_e):.0f}", f"{mean(others_e):.0f}",
            f"{mean(rest(wall_i, own_i, others_i)):.0f} > {mean(rest(wall_e, own_e, others_e)):.0f}",
            f"{percentile(wall_i, 0.99) / 1000:.0f} > {percentile(wall_e, 0.99) / 1000:.0f}",
            f"{percentile(without, 0.99) / 1000:.0f}",
            f"{percentile(wall_i, 0.999) / 1000:.0f} > {percentile(wall_e, 0.999) / 1000:.0f}",
            at_p99(wall_e, own_e, others_e), at_p99(wall_i, own_i, others_i),
            f"{user / max(user + system, 1):.0%} of {user + system} ticks"]


if __name__ == "__main__":
    sys.exit(main())
