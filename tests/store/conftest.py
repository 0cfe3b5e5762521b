"""One set of store contract tests, run against each backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from server.domain import TemplateRecord
from server.store import ensure_templates, get_template, make_session_factory, migrate
from tests.store.backends import postgres_schema_engine, postgres_url, sqlite_engine

NOW = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def blank_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An engine on an empty database (no tables yet)."""
    if request.param == "sqlite":
        with sqlite_engine(tmp_path) as engine:
            yield engine
    else:
        with postgres_schema_engine(postgres_url()) as engine:
            yield engine


@pytest.fixture
def engine(blank_engine: Engine) -> Engine:
    migrate(blank_engine)
    return blank_engine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with make_session_factory(engine)() as session:
        yield session


@pytest.fixture
def template(session: Session) -> TemplateRecord:
    """A template that progress and awards can point at (they carry a foreign key)."""
    ensure_templates(session, [("credly", "t1", "Demo", "Pass the demo course")], NOW)
    session.commit()
    record = get_template(session, "credly:t1")
    assert record is not None
    return record
