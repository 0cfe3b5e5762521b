"""Start-up failures an operator can meet: each ends the process with a clear log line
and a distinct exit code, never a traceback or a half-started server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from server.store.db import create_engine_for, make_session_factory, migrate
from server.store.rules import append_rules
from tests.conftest import TEST_SECRET_KEY
from tests.service.serverproc import REPO_ROOT, start_server


def _run_server(**settings: str) -> tuple[int, list[dict]]:
    env = {
        **os.environ,
        "BADGEFLOW_LOG_FORMAT": "json",
        "BADGEFLOW_SECRET_KEY": TEST_SECRET_KEY,
        "BADGEFLOW_HTTP_PORT": "0",
    }
    env.update({f"BADGEFLOW_{k.upper()}": v for k, v in settings.items()})
    done = subprocess.run(
        [sys.executable, "-m", "server"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    return done.returncode, lines


def test_a_taken_port_is_refused(tmp_path: Path) -> None:
    first = start_server(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        code, log = _run_server(
            grpc_port=str(first.port), database_url=f"sqlite:///{tmp_path / 'b.db'}"
        )
    finally:
        first.terminate()
    assert code == 2
    assert log[-1]["msg"] == "cannot start"
    assert (
        log[-1]["error"]
        == f"cannot listen on 127.0.0.1:{first.port}: the address is in use or invalid"
    )


def test_an_unreachable_database_is_named(tmp_path: Path) -> None:
    code, log = _run_server(grpc_port="0", database_url="postgresql://nobody@127.0.0.1:1/none")
    assert code == 3
    assert log[-1]["msg"] == "cannot start: the database is unreachable"
    assert "127.0.0.1" in log[-1]["error"] and "port 1" in log[-1]["error"]


def test_bad_settings_exit_before_anything_starts() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "server"],
        cwd=REPO_ROOT,
        env={**os.environ, "BADGEFLOW_LOG_FORMAT": "yaml"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == "badgeflow: log_format must be 'json' or 'text', got 'yaml'\n"


def test_stored_rules_that_no_longer_compile_stop_the_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = create_engine_for(url)
    migrate(engine)
    with make_session_factory(engine)() as session, session.begin():
        append_rules(
            session, [("old.badge", 'badge "x" { template credly "t" }\n')], datetime.now(UTC)
        )
    engine.dispose()
    code, log = _run_server(grpc_port="0", database_url=url)
    assert code == 2
    assert log[-1]["error"].startswith(
        "the stored rules (version 1) no longer compile:\nold.badge:1:"
    )
