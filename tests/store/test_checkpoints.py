"""Background WAL checkpoints on a SQLite file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from server.store.checkpoints import background_checkpoints
from server.store.db import create_engine_for


def test_commits_leave_checkpoints_to_the_background_thread(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'wal.db'}")
    checkpointer = background_checkpoints(engine, interval=3_600)  # only the final one runs
    assert checkpointer is not None
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (n INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:
            automatic = connection.execute(text("PRAGMA wal_autocheckpoint")).scalar()
    finally:
        checkpointer.stop()
        engine.dispose()
    assert automatic == 0
    assert (checkpointer.runs, checkpointer.frames > 0) == (1, True)


def test_no_checkpointer_for_an_in_memory_database() -> None:
    memory = create_engine_for("sqlite://")
    try:
        assert background_checkpoints(memory) is None
    finally:
        memory.dispose()
