"""Driver-level statements for the ingest hot path (private to `server.store`).

Ingest writes a few rows per event, and SQLAlchemy's per-row work (compiling, binding
each parameter through its type, building result rows) cost more than SQLite's own:
about 20 µs per row against 2–3. The hot repositories therefore send plain SQL with
tuples of parameters already in the form the driver wants, and read plain tuples back.
The values are exactly those the typed models write and read (see
`models.UtcDateTime` and `models.json_type`), so rows written either way read the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["Driver", "RowInsert", "driver_for", "rows_json"]

# SQLAlchemy's storage format for DateTime on SQLite: always six digits of microseconds,
# so stored values sort as text in time order.
_SQLITE_TIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


class RowInsert:
    """An INSERT of many rows, spelled for each driver.

    SQLite gets `VALUES (?, …)` run once per row by `executemany`, all in C. PostgreSQL
    gets one statement for the whole batch with the rows as one JSON parameter (an
    array of row arrays, see `rows_json`), taken apart by `json_array_elements`:
    psycopg's `executemany` sends a statement per row (each about 25 µs of Python
    here), and its array parameters are built element by element in Python (a group
    commit's 2,000 rows cost more to send than to insert), while `json.dumps` is C.
    `columns` are (name, PostgreSQL type) pairs; `jsonb` columns take JSON text."""

    __slots__ = ("postgres", "sqlite")

    def __init__(self, table: str, columns: Sequence[tuple[str, str]], tail: str = "") -> None:
        names = ", ".join(name for name, _ in columns)
        self.sqlite = (
            f"INSERT INTO {table} ({names}) VALUES ({', '.join(['?'] * len(columns))}){tail}"
        )
        picks = ", ".join(f"(r.value->>{i})::{kind}" for i, (_, kind) in enumerate(columns))
        self.postgres = (
            f"INSERT INTO {table} ({names}) SELECT {picks}"
            f" FROM json_array_elements(%s::json) AS r{tail}"
        )


def rows_json(rows: Sequence[Sequence[Any]]) -> str:
    """Rows as the JSON parameter of `RowInsert.postgres` (instants as ISO 8601 text)."""
    return json.dumps(rows, default=_iso, ensure_ascii=False)


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} cannot go in a row of RowInsert")


class Driver:
    """The dialect-specific spelling of parameters and values, for one session."""

    __slots__ = ("postgres", "_session")

    def __init__(self, session: Session) -> None:
        self._session = session
        self.postgres = session.get_bind().dialect.name == "postgresql"

    def sql(self, text: str) -> str:
        """`text` with `?` placeholders (and `JSON(?)` for JSON values) for this driver."""
        if self.postgres:
            return text.replace("JSON(?)", "CAST(%s AS jsonb)").replace("?", "%s")
        return text.replace("JSON(?)", "?")

    def is_in(self, column: str, values: Sequence[Any]) -> tuple[str, tuple[Any, ...]]:
        """`column IN (values)` and its parameters. On PostgreSQL one array (`= ANY`) of
        text values: the statement text stays the same whatever the count, so psycopg
        prepares it once, and the planner sees one value list, not 100 parameters."""
        if self.postgres:
            # The list as JSON text: psycopg builds array parameters in Python.
            return f"{column} = ANY(ARRAY(SELECT json_array_elements_text(?::json)))", (
                json.dumps(list(values), ensure_ascii=False),
            )
        return f"{column} IN ({', '.join(['?'] * len(values))})", tuple(values)

    def time(self, value: datetime | None) -> Any:
        """A UTC instant as the driver stores it; naive values are refused, as the models do."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; use an aware UTC value")
        if self.postgres:
            return value
        v = value.astimezone(UTC)
        return _SQLITE_TIME % (
            v.year,
            v.month,
            v.day,
            v.hour,
            v.minute,
            v.second,
            v.microsecond,
        )

    def read_time(self, value: Any) -> datetime:
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return datetime.fromisoformat(value).replace(tzinfo=UTC)

    @staticmethod
    def json(value: Any) -> str:
        return json.dumps(value)

    def read_json(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str | bytes) else value

    def insert(self, statement: RowInsert, rows: Sequence[tuple[Any, ...]]) -> None:
        """All `rows` (tuples in the statement's column order), in one round trip on
        PostgreSQL."""
        self.insert_all([(statement, rows)])

    def insert_all(self, inserts: Sequence[tuple[RowInsert, Sequence[tuple[Any, ...]]]]) -> None:
        """Several inserts into different tables, in one round trip on PostgreSQL: all but
        the last become data-modifying `WITH` clauses of the last. They run on one
        snapshot and cannot see each other's rows, so the tables must not depend on one
        another (no foreign key between them, no conflict on a row another inserts)."""
        work = [(statement, rows) for statement, rows in inserts if rows]
        if not work:
            return
        connection = self._session.connection()
        if not self.postgres:
            for statement, rows in work:
                connection.exec_driver_sql(statement.sqlite, list(rows))
            return
        *first, (last, _) = work
        clauses = [f"w{i} AS ({statement.postgres})" for i, (statement, _) in enumerate(first)]
        text = f"WITH {', '.join(clauses)} {last.postgres}" if clauses else last.postgres
        connection.exec_driver_sql(text, tuple(rows_json(rows) for _, rows in work))

    def query(self, text: str, params: tuple[Any, ...]) -> Iterable[tuple[Any, ...]]:
        return self._session.connection().exec_driver_sql(self.sql(text), params).all()  # type: ignore[return-value]


def driver_for(session: Session) -> Driver:
    return Driver(session)
