"""Fixtures shared by every test: a real Redis, and the guard that lets no swallowed bug hide.

Redis: the machine's own on 127.0.0.1:6379 when it answers, else one started here on a free
port. Tests use their own key prefix on one DB number and delete exactly their keys at the end,
so a shared Redis is left as it was found.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from otel_aa import _guard

REDIS_DB = 13


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    db: int
    prefix: str

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/{self.db}"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    proc = None
    tmpdir = None
    port = 6379
    if not _answers(port):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("no Redis on 127.0.0.1:6379 and no redis-server binary to start one")
        port = _free_port()
        tmpdir = tempfile.mkdtemp(prefix="otelaa-redis-")
        proc = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
             "--dir", tmpdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not _answers(port):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("could not start redis-server for the tests")
            time.sleep(0.05)  # waiting for a child process to listen, not synchronising tests
    server = RedisServer("127.0.0.1", port, REDIS_DB, f"otelaa-test-{uuid.uuid4().hex[:8]}:")
    os.environ["OTEL_AA_TEST_REDIS_URL"] = server.url
    os.environ["OTEL_AA_TEST_REDIS_PREFIX"] = server.prefix
    try:
        yield server
    finally:
        import redis

        client = redis.Redis(host=server.host, port=server.port, db=server.db)
        # kombu's global_keyprefix and Django's KEY_PREFIX both start with our prefix; celery's
        # fan-out and unacked bookkeeping keys carry it too.
        keys = list(client.scan_iter(match=f"*{server.prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)


@pytest.fixture(autouse=True)
def guard_reraises(request: pytest.FixtureRequest) -> Iterator[list[BaseException]]:
    """Fail any test during which otel-aa's guard swallowed an exception in this process.

    A test that provokes the guard on purpose marks itself ``guard_expected`` and asserts on the
    list this fixture yields.
    """
    caught: list[BaseException] = []
    _guard._add_listener(caught.append)
    try:
        yield caught
    finally:
        _guard._remove_listener(caught.append)
    if caught and request.node.get_closest_marker("guard_expected") is None:
        raise AssertionError(f"otel-aa's guard swallowed: {caught!r}") from caught[0]


@pytest.fixture(autouse=True)
def fresh_config() -> Iterator[None]:
    """otel-aa's settings as the test starts, and again once its ``monkeypatch`` is undone.

    The distro resolves its settings once (:mod:`otel_aa._config`); a test that changes one calls
    ``config.reload()`` after the change, and the next test doesn't inherit it.
    """
    from otel_aa import _config as config

    config.reload()
    yield
    config.reload()
