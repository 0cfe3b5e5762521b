"""Runs `python -m server` as a child process, as an operator would, for tests that
kill or signal it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    port: int
    log: list[dict] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self._reap(30)

    def terminate(self, timeout: float = 60.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self._reap(timeout)

    def _reap(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        if self.reader is not None:
            self.reader.join(timeout)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code

    def messages(self) -> list[str]:
        return [entry.get("msg", "") for entry in self.log]


def _pump(proc: ServerProcess, ready: threading.Event) -> None:
    assert proc.process.stderr is not None
    for line in proc.process.stderr:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = {"msg": line.rstrip()}
        proc.log.append(entry)
        if entry.get("msg") == "serving":
            proc.port = int(str(entry["address"]).rsplit(":", 1)[1])
            ready.set()
    ready.set()


def start_server(database_url: str, **settings: str) -> ServerProcess:
    """Start a server on a free port; return once it serves (its log says where)."""
    env = {
        **os.environ,
        "BADGEFLOW_GRPC_PORT": "0",
        "BADGEFLOW_DATABASE_URL": database_url,
        "BADGEFLOW_LOG_FORMAT": "json",
        "BADGEFLOW_HTTP_PORT": "0",
        "BADGEFLOW_SECRET_KEY": "rG8wZ6yqkx1b6m3o0QzC8bJ0Jm2dN5Vb8Qm1t9v7c2E=",
        **{f"BADGEFLOW_{k.upper()}": v for k, v in settings.items()},
    }
    popen = subprocess.Popen(
        [sys.executable, "-m", "server"], cwd=REPO_ROOT, env=env, stderr=subprocess.PIPE, text=True
    )
    proc = ServerProcess(popen, 0)
    ready = threading.Event()
    proc.reader = threading.Thread(target=_pump, args=(proc, ready), daemon=True)
    proc.reader.start()
    if not ready.wait(START_TIMEOUT) or proc.port == 0:
        proc.kill()
        raise RuntimeError(f"server did not start; log: {proc.log[-10:]}")
    return proc
