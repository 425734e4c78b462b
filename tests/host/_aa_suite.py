"""Run Alliance Auth's shipped test suite, without otel-aa or under it, and record every outcome.

The suite is the one inside the installed ``allianceauth`` package (``manage.py test
allianceauth``), with AA's test settings rebuilt in :mod:`aa_site.settings_all`. Each run has
its own temporary directory (its SQLite file name, results) and its own Redis (a private
``redis-server``, else the machine's, one run at a time), so runs side by side don't meet. Modes:

- ``baseline``: no otel-aa at all;
- ``zero-code``: ``opentelemetry-instrument`` with otel-aa as configurator and distro, GA for
  traces and metrics, sending to a collector on 127.0.0.1, ``OTEL_BSP_SCHEDULE_DELAY=1``;
- ``code``: the same settings, started by ``otel_aa.configure()`` instead.

``python -m tests.host._aa_suite [MODE ...]`` prints the figures of each mode (outcomes,
wall time, events sent); with ``baseline`` among them the baseline runs afresh, timed under the
same load. ``AA_SUITE_PYTHONPATH`` puts another otel-aa first (an unpacked older commit, to
measure "before").
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
MODES = ("baseline", "zero-code", "code")
#: AA's suite takes ~40 s here; a CI box under load may need several times that.
RUN_TIMEOUT = 900
MEASUREMENT_ID = "G-HOSTSUITE1"
API_SECRET = "host-suite-secret-z8k"
FAILED = frozenset({"fail", "error", "xpass"})


@dataclass
class SuiteRun:
    mode: str
    outcomes: dict[str, str]
    personal: list[str]
    seconds: float
    returncode: int
    output: str
    db_file_created: bool = False
    hits: list[dict] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        return Counter(self.outcomes.values())

    @property
    def events(self) -> int:
        return sum(len(h.get("events", ())) for h in self.hits)


def aa_version() -> str:
    import allianceauth

    return str(allianceauth.__version__)


def _environment(mode: str, workdir: Path, endpoint: str | None) -> dict[str, str]:
    # A shell's environment, not this pytest's: no DJANGO_SETTINGS_MODULE or OTEL_* of ours.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OTEL_", "DJANGO_", "AA_SUITE_", "PYTEST_", "ANALYTICS_", "PYTHONPATH"))}
    env.update({
        # AA_SUITE_PYTHONPATH: another otel-aa to measure (e.g. an unpacked older commit).
        "PYTHONPATH": os.pathsep.join(filter(None, [os.environ.get("AA_SUITE_PYTHONPATH"), str(HERE)])),
        "DJANGO_SETTINGS_MODULE": "aa_site.settings_all",
        "AA_SUITE_DB": str(workdir / "aa-suite.sqlite3"),
        "AA_SUITE_RESULTS": str(workdir / "results.json"),
        "AA_SUITE_PREFIX": f"aa-suite-{uuid.uuid4().hex[:12]}",
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    })
    if mode != "baseline":
        assert endpoint is not None
        env.update({
            "AA_SUITE_OTEL_AA": "1",
            "OTEL_PYTHON_CONFIGURATOR": "otel_aa",
            "OTEL_PYTHON_DISTRO": "otel_aa",
            "OTEL_TRACES_EXPORTER": "ga",
            "OTEL_METRICS_EXPORTER": "ga",
            "OTEL_LOGS_EXPORTER": "none",
            "OTEL_EXPORTER_GA_ENDPOINT": endpoint,
            "OTEL_EXPORTER_GA_MEASUREMENT_ID": MEASUREMENT_ID,
            "OTEL_EXPORTER_GA_API_SECRET": API_SECRET,
            "OTEL_EXPORTER_GA_VALIDATE": "false",
            "OTEL_BSP_SCHEDULE_DELAY": "1",
        })
    return env


def _command(mode: str) -> list[str]:
    test = ["test", "allianceauth", "--noinput", "-v", "1"]
    if mode == "zero-code":
        return [str(BIN / "opentelemetry-instrument"), sys.executable, "-m", "django", *test]
    if mode == "code":
        return [sys.executable, "-m", "aa_site.code_start", *test]
    return [sys.executable, "-m", "django", *test]


@contextlib.contextmanager
def _redis(workdir: Path) -> Iterator[str]:
    """A Redis for one run: a private ``redis-server`` where there is one, else the machine's.

    AA's task statistics use fixed key names outside the cache's prefix, so two runs sharing a
    Redis database would count each other's tasks; on the machine's Redis, runs take turns.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        cache_dir().mkdir(parents=True, exist_ok=True)
        with open(cache_dir() / "aa-suite-redis.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield "redis://127.0.0.1:6379/14"
        return
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while not _answers(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("aa-suite: the private redis-server did not start")
            time.sleep(0.05)  # start-up polling, not test synchronisation
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def run_suite(mode: str, endpoint: str | None = None) -> SuiteRun:
    """Run AA's suite once in ``mode``; GA hits go to ``endpoint`` (a collector's)."""
    with tempfile.TemporaryDirectory(prefix=f"aa-suite-{mode}-") as tmp:
        workdir = Path(tmp)
        env = _environment(mode, workdir, endpoint)
        started = time.monotonic()
        with _redis(workdir) as redis_url:
            env["AA_SUITE_REDIS"] = redis_url
            proc = subprocess.run(_command(mode), cwd=workdir, env=env, capture_output=True,
                                  text=True, timeout=RUN_TIMEOUT, check=False)
            _delete_redis_keys(redis_url, env["AA_SUITE_PREFIX"])
        seconds = time.monotonic() - started
        results = workdir / "results.json"
        data = json.loads(results.read_text()) if results.exists() else {}
        return SuiteRun(mode=mode, outcomes=data.get("outcomes", {}), personal=data.get("personal", []),
                        seconds=seconds, returncode=proc.returncode,
                        output=proc.stdout + proc.stderr,
                        db_file_created=Path(env["AA_SUITE_DB"]).exists(),
                        vocabulary=data.get("vocabulary", []))


def _delete_redis_keys(url: str, prefix: str) -> None:
    try:
        import redis

        client = redis.Redis.from_url(url, socket_timeout=5)
        keys = list(client.scan_iter(f"{prefix}:*")) + list(client.scan_iter("ALLIANCEAUTH_*"))
        if keys:
            client.delete(*keys)
    except Exception as exc:  # a missing Redis fails the suite itself, visibly
        print(f"aa-suite: could not clean Redis keys ({type(exc).__name__})", file=sys.stderr)


def _fingerprint() -> str:
    """What a baseline depends on: AA's version, Python, this harness's settings and runner."""
    digest = hashlib.sha256(f"{aa_version()} {sys.version_info[:2]}".encode())
    for path in sorted((HERE / "aa_site").glob("*.py")):
        digest.update(path.read_bytes())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()[:16]


def cache_dir() -> Path:
    return Path(os.environ.get("OTEL_AA_TESTS_CACHE") or Path.home() / ".cache" / "otel-aa-tests")


def baseline() -> SuiteRun:
    """The baseline run, cached per AA version (and harness, Python) outside the repository."""
    path = cache_dir() / f"aa-suite-baseline-{aa_version()}-{_fingerprint()}.json"
    if path.exists():
        data = json.loads(path.read_text())
        return SuiteRun(mode="baseline", outcomes=data["outcomes"], personal=data["personal"],
                        seconds=data["seconds"], returncode=data["returncode"], output="(cached)")
    run = run_suite("baseline")
    if run.outcomes:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"outcomes": run.outcomes, "personal": run.personal,
                                   "seconds": run.seconds, "returncode": run.returncode}))
        tmp.replace(path)  # atomic: parallel jobs never read half a file
    return run


def only_failing_with(base: SuiteRun, other: SuiteRun) -> dict[str, str]:
    """Tests that passed (or were skipped) in ``base`` but fail, error or are missing in ``other``."""
    return {name: other.outcomes.get(name, "missing") for name, outcome in base.outcomes.items()
            if outcome not in FAILED and other.outcomes.get(name, "missing") in FAILED | {"missing"}}


def _word_list(text: str) -> list[str]:
    return [w for w in re.split(r"[^0-9a-z]+", text.casefold()) if w]


def words(text: str) -> set[str]:
    """The lower-case words and numbers of ``text`` (as ``aa_site.runner.words``)."""
    return set(_word_list(text))


def personal_data_in(hits: list[dict], personal: list[str], vocabulary: list[str]) -> set[str]:
    """Which of ``personal`` appear in a string of the GA payloads ``hits``.

    A value made only of words of the site's code (``vocabulary``: "admin", "Member", "Group")
    can't be told from code and is left out; so are values without a letter (ids, counts).
    """
    strings: list[str] = []

    def walk(value: object) -> None:
        if isinstance(value, str):
            strings.append(value.casefold())
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for hit in hits:
        walk(hit)
    # Whole words only: the fixture group "open" is not in the task namespace "openfire".
    blob = "\n".join(" " + " ".join(_word_list(text)) + " " for text in strings)
    code = set(vocabulary)
    return {value for value in personal
            if any(c.isalpha() for c in value) and not words(value) <= code
            and " " + " ".join(_word_list(value)) + " " in blob}


def _main(modes: list[str]) -> None:
    from opentelemetry.exporter.google_analytics.testing import GACollector

    # "baseline" among the modes: a fresh one, timed under the same load as the others.
    base = run_suite("baseline") if "baseline" in modes else baseline()
    print(f"baseline: {dict(base.counts)} in {base.seconds:.1f}s")
    for mode in (m for m in modes if m != "baseline"):
        with GACollector(validate=False) as ga:
            run = run_suite(mode, ga.endpoint)
            run.hits = [h.body for h in ga.hits if isinstance(h.body, dict)]
        broken = only_failing_with(base, run)
        print(f"{mode}: {dict(run.counts)} in {run.seconds:.1f}s (x{run.seconds / base.seconds:.2f}); "
              f"{len(run.hits)} requests, {run.events} events; only failing with otel-aa: {len(broken)}; "
              f"db file created: {run.db_file_created}; "
              f"personal data in GA: {sorted(personal_data_in(run.hits, run.personal, run.vocabulary))}")
        for name in sorted(broken)[:10]:
            print(f"    {broken[name]}: {name}")


if __name__ == "__main__":
    _main(sys.argv[1:] or list(MODES))
