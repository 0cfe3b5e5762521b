"""The databases a scenario runs on: a SQLite file in the run's directory, or a fresh
PostgreSQL database created on the local server for one run and dropped after it.

PostgreSQL is found through BADGEFLOW_BENCH_POSTGRES_URL, else BADGEFLOW_TEST_POSTGRES_URL,
else the local default; when it cannot be reached the scenario records why and goes on."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

__all__ = ["BACKENDS", "Postgres", "copy_sqlite", "sqlite_url"]

BACKENDS = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
_PREFIX = "badgeflow_bench_"


def sqlite_url(directory: Path, name: str) -> str:
    return f"sqlite:///{directory / f'{name}.db'}"


def copy_sqlite(source: str, directory: Path, name: str) -> str:
    """A copy of a prepared SQLite database (with its WAL, if one is left), so two runs
    start from the same state without preparing it twice."""
    target = sqlite_url(directory, name)
    for suffix in ("", "-wal"):
        origin = Path(source.removeprefix("sqlite:///") + suffix)
        if origin.exists():
            shutil.copyfile(origin, target.removeprefix("sqlite:///") + suffix)
    return target


@dataclass(frozen=True)
class Postgres:
    """The local PostgreSQL server, reached through an admin URL (any database on it)."""

    url: str

    @classmethod
    def from_environment(cls) -> Postgres:
        url = os.environ.get("BADGEFLOW_BENCH_POSTGRES_URL") or os.environ.get(
            "BADGEFLOW_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL
        )
        return cls(url)

    def _conninfo(self, database: str | None = None) -> str:
        url = make_url(self.url)
        if database is not None:
            url = url.set(database=database)
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def unreachable(self) -> str | None:
        """Why the server cannot be used, or None when it can."""
        try:
            with psycopg.connect(self._conninfo(), connect_timeout=3) as connection:
                connection.execute("SELECT 1")
        except psycopg.Error as error:
            return f"PostgreSQL at {make_url(self.url).render_as_string()} unreachable: {error}"
        return None

    def database_url(self, name: str) -> str:
        return make_url(self.url).set(database=name).render_as_string(hide_password=False)

    @contextmanager
    def fresh_database(self, template: str | None = None) -> Iterator[str]:
        """A new uniquely named database (a copy of `template` if given), dropped after."""
        name = f"{_PREFIX}{uuid.uuid4().hex[:12]}"
        self._admin(_create(name, template))
        try:
            yield self.database_url(name)
        finally:
            self._admin(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def _admin(self, statement: sql.Composed) -> None:
        with psycopg.connect(self._conninfo(), autocommit=True, connect_timeout=3) as connection:
            connection.execute(statement)


def _create(name: str, template: str | None) -> sql.Composed:
    if template is None:
        return sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    return sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        sql.Identifier(name), sql.Identifier(make_url(template).database or "")
    )
