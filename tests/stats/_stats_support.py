"""Support for the daily-stats tests: "installs" of real child processes, and payload helpers.

An :class:`Install` is what several processes of one Alliance Auth install share: a SQLite file
(migrated once), a Redis key prefix of its own, the GA tokens and the stats interval. Each
:class:`Child` is a real OS process (``python -m statsite.child``) that the test drives line by
line; every wait has a timeout, and every child is killed at the end if it is still running.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.exporter.google_analytics.testing import GACollector

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

#: How long one step of a child (start-up, a flush, a shutdown) may take on a busy machine.
STEP_TIMEOUT = 60.0

MAIN_ID = "G-STATSMAIN01"
MAIN_SECRET = "stats-main-secret-0123456789"
OFF_ID = "G-STATSOFF001"
OFF_SECRET = "stats-off-secret-9876543210"
OTHER_ID = "G-STATSOTHER1"
OTHER_SECRET = "stats-other-secret-5555555555"

#: Two tokens with daily_stats on, one with it off.
TOKENS: list[dict[str, Any]] = [
    {"name": "main", "measurement_id": MAIN_ID, "api_secret": MAIN_SECRET},
    {"name": "off", "measurement_id": OFF_ID, "api_secret": OFF_SECRET, "daily_stats": False},
    {"name": "other", "measurement_id": OTHER_ID, "api_secret": OTHER_SECRET, "daily_stats": True,
     "page_views": False, "celery_events": False},
]


class Child:
    """One ``statsite.child`` process; its stdout lines are read on a thread into a queue."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.args = args
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "statsite.child", *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stderr: list[str] = []
        threading.Thread(target=self._pump_out, daemon=True).start()
        self._err_thread = threading.Thread(target=self._pump_err, daemon=True)
        self._err_thread.start()

    def _pump_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _pump_err(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._stderr.append(line.rstrip("\n"))

    def expect(self, word: str, timeout: float = STEP_TIMEOUT) -> str:
        """Wait for a stdout line starting with ``word``; return the rest of it."""
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"child {self.args} did not say {word!r} in {timeout} s; "
                                     f"stderr:\n{self.stderr}") from None
            if line is None:
                self.proc.wait(timeout=STEP_TIMEOUT)
                raise AssertionError(f"child {self.args} exited ({self.proc.returncode}) before "
                                     f"saying {word!r}; stderr:\n{self.stderr}")
            if line.startswith(word):
                return line[len(word):].strip()

    def send(self, word: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = STEP_TIMEOUT) -> int:
        """Close stdin, wait for the exit; return the exit code."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        code = self.proc.wait(timeout=timeout)
        self._err_thread.join(timeout=timeout)
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(self._stderr)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=STEP_TIMEOUT)


@dataclass
class Install:
    """One Alliance Auth install as the processes see it: database, cache, settings."""

    tmp: Path
    redis_url: str
    redis_prefix: str
    collector: GACollector
    cache: str = "redis"
    esi: bool = True
    interval: float = 86400.0
    extra_env: dict[str, str] = field(default_factory=dict)
    install_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    children: list[Child] = field(default_factory=list)

    @property
    def db(self) -> Path:
        return self.tmp / "install.sqlite3"

    @property
    def clock_file(self) -> Path:
        return self.tmp / "clock-offset"

    @property
    def key_prefix(self) -> str:
        return self.redis_prefix + self.install_id

    def env(self, **overrides: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OTEL_", "DJANGO_", "STATS_TEST_", "AA_", "ANALYTICS_"))}
        env.update({
            "PYTHONPATH": os.pathsep.join([str(HERE), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "statsite.settings",
            "STATS_TEST_DB": str(self.db),
            "STATS_TEST_CACHE": self.cache,
            "STATS_TEST_ESI": "1" if self.esi else "0",
            "STATS_TEST_INSTALL": self.install_id,
            "STATS_TEST_CLOCK_FILE": str(self.clock_file),
            "OTEL_AA_TEST_REDIS_URL": self.redis_url,
            "OTEL_AA_TEST_REDIS_PREFIX": self.redis_prefix,
            "OTEL_EXPORTER_GA_ENDPOINT": self.collector.endpoint,
            "OTEL_EXPORTER_GA_TOKENS": json.dumps(TOKENS),
            "OTEL_EXPORTER_GA_VALIDATE": "false",
            "OTEL_EXPORTER_GA_TIMEOUT": "5",
            "OTEL_EXPORTER_GA_STATS_INTERVAL": f"{self.interval:g}",
            "OTEL_SDK_DISABLED": "false",
        })
        env.update(self.extra_env)
        env.update(overrides)
        return env

    def start(self, *args: str, **env: str) -> Child:
        child = Child(list(args), self.env(**env))
        self.children.append(child)
        return child

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run a mode (or ``-m django ...`` when args start with ``django``) to the end."""
        command = [sys.executable, "-m", *(args if args[0] == "django" else ("statsite.child", *args))]
        result = subprocess.run(command, cwd=ROOT, env=self.env(**env), capture_output=True, text=True,
                                timeout=STEP_TIMEOUT * 2, check=False)
        return result

    def migrate(self) -> None:
        result = self.run("migrate")
        assert result.returncode == 0, result.stderr

    def advance_clock(self, seconds: float) -> None:
        """Move the database lease's clock forward, for every child of this install."""
        current = float(self.clock_file.read_text()) if self.clock_file.exists() else 0.0
        self.clock_file.write_text(str(current + seconds))

    def close(self) -> None:
        for child in self.children:
            child.kill()


def stats_events(collector: GACollector, measurement_id: str | None = None) -> list[dict[str, Any]]:
    """The daily-stats events (``namespace`` ``allianceauth.analytics``) the collector accepted."""
    return [e for e in collector.events("celery_event", measurement_id)
            if e.get("params", {}).get("namespace") == "allianceauth.analytics"]


def existence_count(collector: GACollector, measurement_id: str) -> int:
    """How many daily-stats sets reached ``measurement_id`` (one ``existence`` event per set)."""
    return sum(1 for e in stats_events(collector, measurement_id) if e["params"]["label"] == "existence")
