"""Fixtures for the daily-stats tests: a GA collector, and "installs" of real child processes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _stats_support import Install
from opentelemetry.exporter.google_analytics.testing import GACollector


@pytest.fixture
def collector() -> Iterator[GACollector]:
    with GACollector() as ga:
        yield ga


@pytest.fixture
def make_install(tmp_path: Path, redis_server: Any, collector: GACollector) -> Iterator[Any]:
    """``make_install(cache="redis"|"locmem", esi=True, interval=..., **extra_env)``, migrated."""
    made: list[Install] = []

    def make(cache: str = "redis", esi: bool = True, interval: float = 86400.0, migrate: bool = True,
             **extra_env: str) -> Install:
        tmp = tmp_path / f"install{len(made)}"
        tmp.mkdir()
        install = Install(tmp, redis_server.url, redis_server.prefix, collector, cache=cache, esi=esi,
                          interval=interval, extra_env=dict(extra_env))
        made.append(install)
        if migrate:
            install.migrate()
        return install

    try:
        yield make
    finally:
        for install in made:
            install.close()


@pytest.fixture
def mariadb_database() -> Iterator[str]:
    """A fresh database on the machine's MariaDB (127.0.0.1:3306, root), dropped afterwards."""
    pymysql = pytest.importorskip("pymysql")  # the test extra's driver (statsite/settings.py)
    try:
        connection = pymysql.connect(host="127.0.0.1", port=3306, user="root", connect_timeout=5)
    except pymysql.OperationalError:
        pytest.skip("no MariaDB on 127.0.0.1:3306")
    name = f"otelaa_stats_{uuid.uuid4().hex[:10]}"
    cursor = connection.cursor()
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    try:
        yield name
    finally:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        connection.close()
