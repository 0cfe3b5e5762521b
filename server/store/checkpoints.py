"""SQLite write-ahead-log checkpoints off the commit path.

By default SQLite checkpoints inside the commit that pushes the WAL past 1,000 pages: that
commit copies the WAL into the database file and syncs it, and the events it acks wait
tens of milliseconds more than the others (the tail of the ack latency). The server turns
automatic checkpoints off (`PRAGMA wal_autocheckpoint=0` on its connections) and runs
this instead: a thread with its own connection that checkpoints every `interval` seconds
in PASSIVE mode, which never blocks the writer or the readers. If the thread cannot
checkpoint (a long read holds an old snapshot) it tries again next time; the WAL only
grows meanwhile, as it would with automatic checkpoints."""

from __future__ import annotations

import logging
import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, event

__all__ = ["DEFAULT_CHECKPOINT_SECONDS", "WalCheckpointer", "background_checkpoints"]

_log = logging.getLogger("badgeflow.store")

DEFAULT_CHECKPOINT_SECONDS = 1.0


class WalCheckpointer:
    def __init__(self, path: str, interval: float = DEFAULT_CHECKPOINT_SECONDS) -> None:
        self._path = path
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Checkpoints run, and WAL frames they copied into the database (for tests).
        self.runs = 0
        self.frames = 0

    def start(self) -> WalCheckpointer:
        self._thread = threading.Thread(
            target=self._run, name="badgeflow-wal-checkpoint", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after a last checkpoint, so a clean stop leaves a short WAL."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        busy, _log_frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        self.runs += 1
        self.frames += max(copied, 0)
        if busy:
            _log.debug("wal checkpoint could not finish; a reader holds an old snapshot")

    def _run(self) -> None:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=True)
        try:
            connection.execute("PRAGMA busy_timeout=1000")
            while True:
                stopping = self._stop.wait(self._interval)
                try:
                    self.checkpoint(connection)
                except sqlite3.Error:
                    _log.warning("wal checkpoint failed; trying again", exc_info=True)
                if stopping:
                    return
        finally:
            connection.close()


def background_checkpoints(
    engine: Engine, interval: float = DEFAULT_CHECKPOINT_SECONDS
) -> WalCheckpointer | None:
    """For an engine on a SQLite file: turn automatic checkpoints off on its connections
    and return a started checkpointer (stop it after the engine's last commit). None for
    any other database. Call it before the engine opens its first connection."""
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or database in ("", ":memory:"):
        return None
    event.listen(engine, "connect", _no_automatic_checkpoints)
    return WalCheckpointer(database, interval).start()


def _no_automatic_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")
