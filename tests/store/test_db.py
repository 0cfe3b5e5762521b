from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import server.store
from server.store import (
    count_events,
    create_engine_for,
    head_revision,
    insert_events,
    make_session_factory,
    migrate,
)
from server.store.models import Base
from tests.store.backends import sqlite_engine
from tests.store.test_events import event


def test_migrated_schema_matches_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_migrate_creates_every_table(engine: Engine) -> None:
    assert set(inspect(engine).get_table_names()) == {
        "alembic_version",
        "api_keys",
        "awards",
        "events",
        "learners",
        "outbox",
        "progress",
        "provider_badges",
        "provider_connections",
        "rule_sets",
        "templates",
        "webhook_events",
    }


def test_migrate_twice_is_a_no_op(engine: Engine) -> None:
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        insert_events(session, [event("e1")])

    migrate(engine)

    with sessions() as session:
        assert count_events(session) == 1
        assert session.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()


def test_sqlite_connections_use_wal_and_safe_pragmas(tmp_path: Path) -> None:
    with sqlite_engine(tmp_path) as engine, engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    # synchronous: 1 is NORMAL.
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 1,
        "foreign_keys": 1,
        "busy_timeout": 10000,
    }
    assert (tmp_path / "var" / "badgeflow.db").exists()


def test_sqlite_transactions_roll_back_ddl(tmp_path: Path) -> None:
    """The sqlite3 module would autocommit DDL; our BEGIN makes it part of the transaction."""
    with sqlite_engine(tmp_path) as engine:
        with engine.connect() as connection:
            with connection.begin() as transaction:
                connection.exec_driver_sql("CREATE TABLE scratch (id INTEGER)")
                transaction.rollback()
        assert inspect(engine).get_table_names() == []


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("postgresql+psycopg://u@db.example/badgeflow", id="psycopg"),
        pytest.param("postgresql://u@db.example/badgeflow", id="postgresql"),
        pytest.param("postgres://u@db.example/badgeflow", id="postgres"),
    ],
)
def test_postgres_urls_use_psycopg(url: str) -> None:
    engine = create_engine_for(url)
    try:
        assert engine.url.drivername == "postgresql+psycopg"
        assert engine.url.host == "db.example"
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        pytest.param(
            "mysql://root:secret@db/badgeflow",
            "unsupported database URL scheme 'mysql': use sqlite:///path/to/file.db "
            "or postgresql://user@host/dbname",
            id="mysql",
        ),
        pytest.param(
            "postgresql+psycopg2://root:secret@db/badgeflow",
            "unsupported database URL scheme 'postgresql+psycopg2': use "
            "sqlite:///path/to/file.db or postgresql://user@host/dbname",
            id="other-driver",
        ),
        pytest.param(
            "var/badgeflow.db",
            "unsupported database URL scheme '(none)': use sqlite:///path/to/file.db "
            "or postgresql://user@host/dbname",
            id="no-scheme",
        ),
    ],
)
def test_create_engine_for_rejects_unsupported_schemes(url: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        create_engine_for(url)
    assert str(info.value) == message
    assert "secret" not in str(info.value)


def test_package_all_lists_every_public_repository_function() -> None:
    modules = [
        "awards",
        "connections",
        "db",
        "events",
        "learners",
        "outbox",
        "progress",
        "rules",
        "sync",
        "templates",
    ]
    functions = {
        name
        for module in modules
        for name in getattr(server.store, module).__all__
        if callable(getattr(getattr(server.store, module), name)) and name.islower()
    }
    assert set(server.store.__all__) == functions
    assert all(hasattr(server.store, name) for name in server.store.__all__)
