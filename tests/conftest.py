"""Fixtures shared by every test layer.

In CI (CI=true) the PostgreSQL URL must be set: a PostgreSQL test that would skip fails
instead, so a green CI run always means the PostgreSQL tests ran."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.app import App, build_server
from server.settings import Settings

POSTGRES_ENV = "BADGEFLOW_TEST_POSTGRES_URL"


def postgres_url() -> str:
    """The test database URL, or skip (fail in CI) when none is configured."""
    url = os.environ.get(POSTGRES_ENV, "")
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{POSTGRES_ENV} must be set in CI; PostgreSQL tests may not skip there")
        pytest.skip(f"{POSTGRES_ENV} is not set")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'badgeflow.db'}"


#: A fixed key for tests: provider tokens stored by one test server open in the next.
TEST_SECRET_KEY = "rG8wZ6yqkx1b6m3o0QzC8bJ0Jm2dN5Vb8Qm1t9v7c2E="


@pytest.fixture
async def app(sqlite_url: str) -> AsyncIterator[App]:
    """A real server on 127.0.0.1 and a free port, over a temporary SQLite file."""
    settings = Settings(
        grpc_host="127.0.0.1",
        grpc_port=0,
        database_url=sqlite_url,
        shutdown_grace_seconds=1.0,
        secret_key=TEST_SECRET_KEY,
        http_port=0,
    )
    started = await build_server(settings)
    try:
        yield started
    finally:
        await started.stop(1.0)


@pytest.fixture
def target(app: App) -> str:
    return f"127.0.0.1:{app.port}"
