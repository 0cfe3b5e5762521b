"""Engines, sessions and schema upgrades for SQLite (embedded) and PostgreSQL (scale-out).

Nothing here runs at import time: the composition root calls `create_engine_for`,
`migrate` and `make_session_factory` once at start-up.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

__all__ = [
    "MIGRATIONS_DIR",
    "SQLITE_BUSY_TIMEOUT_MS",
    "create_engine_for",
    "head_revision",
    "make_session_factory",
    "migrate",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 10_000

_POSTGRES_SCHEMES = {"postgresql+psycopg", "postgresql", "postgres"}
_SQLITE_SCHEMES = {"sqlite", "sqlite+pysqlite"}
# Execution option read by the SQLite "begin" hook: migrations take the write lock up
# front so a second process waits (busy_timeout) instead of failing mid-upgrade.
_SQLITE_BEGIN = "badgeflow_sqlite_begin"
# Alembic runs env.py through module-level proxies (`alembic.context`), so two upgrades
# in one process must not overlap even on different databases.
_ALEMBIC_LOCK = threading.Lock()


def create_engine_for(url: str) -> Engine:
    """Build the engine for a database URL.

    Example::

        engine = create_engine_for("sqlite:///var/badgeflow.db")
        engine = create_engine_for("postgres://badgeflow@db/badgeflow")
    """
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in _POSTGRES_SCHEMES:
        return _postgres_engine(make_url(url).set(drivername="postgresql+psycopg"))
    if scheme in _SQLITE_SCHEMES:
        return _sqlite_engine(make_url(url))
    # Only the scheme is echoed: the rest of the URL may hold a password.
    raise ValueError(
        f"unsupported database URL scheme {scheme or '(none)'!r}: use sqlite:///path/to/file.db "
        "or postgresql://user@host/dbname"
    )


#: Seconds to wait for a PostgreSQL connection: a host that drops packets would
#: otherwise hold the one writer thread until the kernel's TCP timeout (minutes).
POSTGRES_CONNECT_TIMEOUT = 10


def _postgres_engine(url: URL, **kwargs: Any) -> Engine:
    # pool_pre_ping: replicas outlive database restarts and fail-overs.
    if "connect_timeout" not in url.query:
        kwargs.setdefault("connect_args", {})["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine, "connect", _configure_postgres_connection)
    return engine


def _configure_postgres_connection(dbapi_connection: Any, _record: Any) -> None:
    """Plan every execution for its own parameters. psycopg prepares a statement after a
    few runs, and PostgreSQL may then settle on a generic plan made while a table was
    nearly empty: the ingest's duplicate check (`id = ANY($1)` on the events' primary
    key) kept a sequential scan and took 25-75 ms a batch, growing with the log. A custom
    plan costs well under a millisecond and follows the table as it grows."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        dbapi_connection.execute("SET plan_cache_mode = force_custom_plan")
    finally:
        dbapi_connection.autocommit = autocommit


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or url.query.get("mode") == "memory"
    if in_memory:
        # One shared connection, or each checkout would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_sqlite_transaction)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection settings; SQLite keeps only journal_mode in the file.

    WAL lets readers run beside the writer. synchronous=NORMAL in WAL mode survives a
    process crash (our promise) but may lose the last commits on power loss, in exchange
    for not syncing on every commit. isolation_level=None stops the sqlite3 module from
    managing transactions itself (it skips BEGIN before SELECT and DDL), so that the
    "begin" hook can emit a real BEGIN and transactions, DDL included, are atomic.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _begin_sqlite_transaction(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_SQLITE_BEGIN, "")
    connection.exec_driver_sql(f"BEGIN {mode}".strip())


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose records stay readable after commit (no lazy reload on access)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision; a no-op when already there.

    Safe at every start, and from several processes at once: on PostgreSQL an advisory
    transaction lock (per schema) serialises the upgrades, so the later one finds the
    schema at head; on SQLite `BEGIN IMMEDIATE` does the same through the file lock.
    """
    with _ALEMBIC_LOCK, engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection = connection.execution_options(**{_SQLITE_BEGIN: "IMMEDIATE"})
        with connection.begin():
            _lock_for_migration(connection)
            command.upgrade(_alembic_config(connection), "head")


def head_revision() -> str:
    """The newest migration's revision id: what a migrated database records."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None, "no migrations found"
    return head


def _lock_for_migration(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext('badgeflow.migrate:' || current_schema()))")
        )


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config
