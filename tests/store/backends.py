"""Database backends for store tests: a temporary SQLite file, or a throwaway
PostgreSQL schema so runs can repeat and overlap on one database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url

from server.store.db import create_engine_for

__all__ = ["POSTGRES_URL_ENV", "postgres_schema_engine", "postgres_url", "sqlite_engine"]

POSTGRES_URL_ENV = "BADGEFLOW_TEST_POSTGRES_URL"


def postgres_url() -> str:
    """The test database URL, or skip when none is configured (fail in CI, where a green
    run must mean the PostgreSQL tests ran; the same rule as tests/conftest.py)."""
    url = os.environ.get(POSTGRES_URL_ENV, "")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{POSTGRES_URL_ENV} must be set in CI; PostgreSQL tests may not skip there"
            )
        pytest.skip(f"{POSTGRES_URL_ENV} is not set")
    return url


@contextmanager
def sqlite_engine(directory: Path) -> Iterator[Engine]:
    # A missing parent directory on purpose: create_engine_for must create it.
    engine = create_engine_for(f"sqlite:///{directory / 'var' / 'badgeflow.db'}")
    try:
        yield engine
    finally:
        engine.dispose()


@contextmanager
def postgres_schema_engine(url: str) -> Iterator[Engine]:
    """An engine whose every connection lives in a fresh, empty schema, dropped after."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine_for(url)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        engine = create_engine_for(_with_search_path(url, schema))
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        admin.dispose()


def _with_search_path(url: str, schema: str) -> str:
    """libpq `options` in the URL query, so the engine still comes from create_engine_for."""
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)
