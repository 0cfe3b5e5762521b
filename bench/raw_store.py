"""The raw store baseline: how many progress-like rows per second the backend itself
upserts through SQLAlchemy (one INSERT … ON CONFLICT DO UPDATE executed with 500 rows
per transaction), with no server, no engine and no gRPC. It is the wall an all-advance
workload runs into when every event writes a row.

The table is the bench's own, shaped like `progress` (same columns and indexes), so the
floor stays put while the real schema is optimised."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql, sqlite

from server.store.checkpoints import background_checkpoints
from server.store.db import create_engine_for

__all__ = ["TRANSACTION_ROWS", "upsert_rate"]

TRANSACTION_ROWS = 500
_METADATA = MetaData()
_TABLE = Table(
    "bench_raw_progress",
    _METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("learner_id", String(255), nullable=False),
    Column("template_id", String(300), nullable=False),
    Column("requirements", JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    Column("partial", JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
    Column("fulfilled_groups", Integer, nullable=False),
    Column("total_groups", Integer, nullable=False),
    Column("completed", Boolean, nullable=False),
    Column("times_awarded", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("learner_id", "template_id"),
    Index("ix_bench_raw_progress_template_learner", "template_id", "learner_id"),
)
_UPDATED = ("requirements", "partial", "fulfilled_groups", "completed", "updated_at")


def _rows(count: int, templates: int) -> list[dict[str, Any]]:
    """Like all-advance: each key written twice (requirement a, then 500 rows later b)."""
    now = datetime.now(UTC)
    rows = []
    for start in range(0, count // 2, TRANSACTION_ROWS):
        keys = range(start, min(start + TRANSACTION_ROWS, count // 2))
        for fulfilled, part in enumerate("ab", 1):
            rows += [_row(k, k % templates, part, fulfilled, now) for k in keys]
    return rows


def _row(learner: int, template: int, part: str, fulfilled: int, now: datetime) -> dict[str, Any]:
    at = now.isoformat()
    requirements = {
        name: {"at": at, "events": [f"e-{learner}-{name}"], "evidence": []}
        for name in "ab"[:fulfilled]
    }
    return {
        "learner_id": f"learner-{learner}",
        "template_id": f"credly:bench-{template}",
        "requirements": requirements,
        "partial": {},
        "fulfilled_groups": fulfilled,
        "total_groups": 2,
        "completed": fulfilled == 2,
        "times_awarded": 0,
        "updated_at": now,
    }


def _upsert(engine: Engine) -> Any:
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    stmt = insert(_TABLE)
    return stmt.on_conflict_do_update(
        index_elements=[_TABLE.c.learner_id, _TABLE.c.template_id],
        set_={name: stmt.excluded[name] for name in _UPDATED},
    )


def upsert_rate(url: str, count: int, templates: int) -> dict[str, Any]:
    """Rows/s of `count` upserts into a fresh table on `url` (its backend's settings:
    WAL, synchronous=NORMAL and checkpoints in the background on SQLite, as the server
    uses)."""
    engine = create_engine_for(url)
    checkpointer = background_checkpoints(engine)  # as the server runs SQLite
    try:
        _METADATA.create_all(engine)
        rows, stmt = _rows(count, templates), _upsert(engine)
        start = time.perf_counter()
        for first in range(0, len(rows), TRANSACTION_ROWS):
            with engine.begin() as connection:
                connection.execute(stmt, rows[first : first + TRANSACTION_ROWS])
        elapsed = time.perf_counter() - start
    finally:
        if checkpointer is not None:
            checkpointer.stop()
        engine.dispose()
    return {
        "rows": len(rows),
        "rows_per_s": round(len(rows) / elapsed),
        "transaction_rows": TRANSACTION_ROWS,
    }
