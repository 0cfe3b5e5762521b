"""Alembic environment: runs on the connection `server.store.db.migrate` hands over.

There is no alembic.ini at runtime; `migrate()` builds the Config in code and passes its
open connection (already inside a transaction holding the migration lock) through
`config.attributes["connection"]`. For the `alembic` command line, set
`sqlalchemy.url` in the Config instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from server.store.db import create_engine_for
from server.store.models import Base

target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine_for(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.connect() as own_connection:
            _configure(own_connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


def _run_offline() -> None:
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
