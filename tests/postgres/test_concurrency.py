"""Races that only a server database can stage: two writers at once on one schema.

Barriers inside SQLAlchemy event hooks fix the interleaving, so the tests need no sleeps
and cannot pass by luck of scheduling.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import IntegrityError

from server.store import (
    append_rules,
    create_engine_for,
    current_rules,
    head_revision,
    make_session_factory,
    migrate,
)
from server.store.models import Base

pytestmark = pytest.mark.postgres

NOW = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)
_BARRIER_TIMEOUT = 30.0
_PROCESS_TIMEOUT = 60.0


def test_two_concurrent_migrations_in_one_process_succeed(
    blank_postgres_engine: Engine,
) -> None:
    engine = blank_postgres_engine
    start = threading.Barrier(2, timeout=_BARRIER_TIMEOUT)

    def migrate_together() -> None:
        start.wait()
        migrate(engine)

    outcomes = _run_twice(migrate_together)

    assert [future.exception() for future in outcomes] == [None, None]
    _assert_migrated(engine)


def test_two_concurrent_migrations_in_two_processes_succeed(
    blank_postgres_engine: Engine,
) -> None:
    """Across processes only the database lock can serialise the upgrades."""
    context = multiprocessing.get_context("spawn")
    both_began = context.Barrier(2, timeout=_BARRIER_TIMEOUT)
    errors: multiprocessing.Queue[str] = context.Queue()
    url = blank_postgres_engine.url.render_as_string(hide_password=False)
    workers = [
        context.Process(target=_migrate_in_child, args=(url, both_began, errors)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=_PROCESS_TIMEOUT)
    exit_codes = [worker.exitcode for worker in workers]
    failure = "" if exit_codes == [0, 0] else errors.get(timeout=_BARRIER_TIMEOUT)
    for worker in workers:
        worker.close()
    errors.close()

    assert exit_codes == [0, 0], failure
    _assert_migrated(blank_postgres_engine)


def _migrate_in_child(url: str, both_began: Any, errors: Any) -> None:
    """Both transactions are open before either asks for the migration lock."""
    engine = create_engine_for(url)
    event.listen(engine, "begin", lambda _connection: both_began.wait())
    try:
        migrate(engine)
    except BaseException as exc:
        errors.put(repr(exc))
        raise
    finally:
        engine.dispose()


def _assert_migrated(engine: Engine) -> None:
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head_revision()
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_two_concurrent_rule_applies_conflict(blank_postgres_engine: Engine) -> None:
    engine = blank_postgres_engine
    migrate(engine)
    sessions = make_session_factory(engine)
    both_read = threading.Barrier(2, timeout=_BARRIER_TIMEOUT)

    def wait_before_insert(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Both have read the same current version before either inserts the next one.
        if statement.startswith("INSERT INTO rule_sets"):
            both_read.wait()

    def apply(name: str) -> int:
        with sessions.begin() as session:
            return append_rules(session, [(f"{name}.badge", name)], NOW).version

    event.listen(engine, "before_cursor_execute", wait_before_insert)
    try:
        outcomes = _run_twice(apply, "first", "second")
    finally:
        event.remove(engine, "before_cursor_execute", wait_before_insert)

    errors = [future.exception() for future in outcomes]
    assert sorted(type(error).__name__ for error in errors) == ["IntegrityError", "NoneType"]
    assert any(isinstance(error, IntegrityError) for error in errors)
    winner = next(future.result() for future in outcomes if future.exception() is None)
    assert winner == 1
    with sessions() as session:
        stored = current_rules(session)
    assert stored is not None and stored.version == 1


def _run_twice(work: Callable[..., object], *args: object) -> list[Future[object]]:
    """Run `work` in two threads at once (each with one of `args`, if given)."""
    arguments = [(arg,) for arg in args] or [(), ()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(work, *call_args) for call_args in arguments]
    return futures
