"""Run the demo's scenario (not its console) and write what the GA stand-in received as JSON.

``python tests/demo/_drive.py OUT.json``: in its own process, as the demo sets up global
OpenTelemetry and Django state. ``tests/demo/test_demo.py`` asserts on the file.
"""

from __future__ import annotations

import io
import json
import sys

from otel_aa.demo.play import Out, played
from otel_aa.demo.report import report


def main(path: str) -> None:
    shown = io.StringIO()
    with played(Out(shown)) as outcome:
        problems = report(Out(shown), outcome)
        received = [
            {"path": h.path, "query": h.query, "status": h.status, "raw": h.raw.decode("utf-8", "replace"),
             "body": h.body, "validation": h.validation}
            for h in outcome.collector.requests
        ]
        spans = len(outcome.spans)
        session_key, flushed = outcome.session_key, outcome.flushed
    with open(path, "w", encoding="utf-8") as file:
        json.dump({"requests": received, "session_key": session_key, "flushed": flushed, "spans": spans,
                   "problems": problems, "shown": shown.getvalue()}, file)


if __name__ == "__main__":
    main(sys.argv[1])
