"""PostgreSQL-only tests: each gets an engine on a fresh, empty schema."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tests.store.backends import postgres_schema_engine, postgres_url


@pytest.fixture
def blank_postgres_engine() -> Iterator[Engine]:
    with postgres_schema_engine(postgres_url()) as engine:
        yield engine
