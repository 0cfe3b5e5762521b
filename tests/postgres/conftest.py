"""PostgreSQL-only tests: each gets an engine on a fresh, empty schema; the fault tests
also get a schema URL for `python -m server` processes, emulator processes, and a way to
stop and start the local PostgreSQL server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url

from server.store.db import create_engine_for
from tests.service.serverproc import REPO_ROOT
from tests.store.backends import postgres_schema_engine, postgres_url

#: Seconds PostgreSQL may take to stop or to accept connections again.
POSTGRES_CONTROL_TIMEOUT = 60.0
_PG_CONFIG = Path("/etc/postgresql")


@pytest.fixture
def blank_postgres_engine() -> Iterator[Engine]:
    with postgres_schema_engine(postgres_url()) as engine:
        yield engine


@pytest.fixture
def schema_url() -> Iterator[str]:
    """The test database URL with its own fresh schema (libpq `options`), for server
    processes that build their engine from a URL; dropped after the test."""
    base = postgres_url()
    schema = f"proc_{uuid.uuid4().hex[:12]}"
    _admin(base, f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        _admin(base, f'DROP SCHEMA "{schema}" CASCADE')


def _admin(url: str, statement: str) -> None:
    engine = create_engine_for(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture
def credly_process() -> Iterator[Callable[..., str]]:
    """Start `python -m server.providers.emulator --seed-demo` with the given fault flags
    and return its Credly URL; every process started is stopped after the test."""
    processes: list[subprocess.Popen[str]] = []

    def start(*flags: str) -> str:
        command = [sys.executable, "-m", "server.providers.emulator", "--seed-demo", *flags]
        process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
        processes.append(process)
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("credly:"), first
        return first.split()[-1]

    try:
        yield start
    finally:
        for process in processes:
            process.terminate()
            process.wait(30)
            if process.stdout is not None:
                process.stdout.close()


class PostgresControl:
    """Stops and starts the local PostgreSQL cluster with `pg_ctlcluster` (fast mode:
    open transactions are aborted and their connections closed, as in a restart)."""

    def __init__(self, version: str, cluster: str = "main") -> None:
        self._cluster = [version, cluster]

    def _ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = ["pg_ctlcluster", "--skip-systemctl-redirect", *self._cluster, *args]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=POSTGRES_CONTROL_TIMEOUT
        )

    def running(self) -> bool:
        return self._ctl("status").returncode == 0

    def stop(self) -> None:
        done = self._ctl("stop", "-m", "fast")
        assert done.returncode == 0, done.stderr

    def start(self) -> None:
        """Start it and return once it accepts connections."""
        if not self.running():
            done = self._ctl("start")
            assert done.returncode == 0 or self.running(), done.stderr
        until = time.monotonic() + POSTGRES_CONTROL_TIMEOUT
        while not _accepts_connections():
            assert time.monotonic() < until, "PostgreSQL did not accept connections again"
            time.sleep(0.1)


def _accepts_connections() -> bool:
    engine = create_engine_for(postgres_url())
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - still starting up
        return False
    finally:
        engine.dispose()


@pytest.fixture
def postgres_control() -> Iterator[PostgresControl]:
    """Control of the local PostgreSQL server (others' tests use it too: keep it down
    briefly). Whatever happens, it is running again after the test."""
    postgres_url()
    versions = sorted(p.name for p in _PG_CONFIG.iterdir()) if _PG_CONFIG.is_dir() else []
    if shutil.which("pg_ctlcluster") is None or not versions:
        message = "the fault tests need pg_ctlcluster and a local PostgreSQL cluster"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    control = PostgresControl(versions[-1])
    try:
        yield control
    finally:
        control.start()
