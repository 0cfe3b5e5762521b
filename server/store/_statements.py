"""Statement helpers shared by the repositories (private to `server.store`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["IN_CHUNK", "chunks", "upsert_insert"]

_T = TypeVar("_T")

# Well under SQLite's and PostgreSQL's bound-parameter limits, even for multi-column rows.
IN_CHUNK = 500


def chunks(items: Sequence[_T], size: int = IN_CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def upsert_insert(session: Session, model: type[Any]) -> Any:
    """The dialect's INSERT, the one that has `on_conflict_do_*` (both spell it alike)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise ValueError(f"unsupported dialect {dialect!r}")
