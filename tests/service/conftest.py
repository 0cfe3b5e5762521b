"""Fixtures of the service tests with authentication on (test_auth*.py, test_tls*.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from server.app import App, build_server
from server.auth import Role
from server.auth_keys import create_key, revoke_key
from server.settings import Settings
from tests.conftest import TEST_SECRET_KEY


@dataclass
class Secured:
    """A running server with auth on, and one key per role (plus a revoked one)."""

    app: App
    keys: dict[Role, str] = field(default_factory=dict)
    revoked: str = ""

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.app.port}"

    def metadata(self, role: Role | None) -> tuple[tuple[str, str], ...]:
        """The call metadata of a `role` key; none for None."""
        return (("authorization", f"Bearer {self.keys[role]}"),) if role is not None else ()


async def add_keys(app: App) -> tuple[dict[Role, str], str]:
    """One key per role, named after it, and a revoked admin key."""
    now = datetime.now(UTC)

    def create(session: Session) -> tuple[dict[Role, str], str]:
        keys = {role: create_key(session, f"{role}-key", role, now)[1] for role in Role}
        record, revoked = create_key(session, "old-admin", Role.ADMIN, now)
        revoke_key(session, record.key_id, now)
        return keys, revoked

    return await app.runner.write(create)


def secured_settings(sqlite_url: str, **overrides: object) -> Settings:
    base = Settings(
        grpc_port=0,
        http_port=0,
        database_url=sqlite_url,
        secret_key=TEST_SECRET_KEY,
        shutdown_grace_seconds=1.0,
        issuance_worker=False,
        reconcile_interval_seconds=0,
        auth=True,
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


@pytest.fixture
async def secured(sqlite_url: str) -> AsyncIterator[Secured]:
    app = await build_server(secured_settings(sqlite_url))
    try:
        keys, revoked = await add_keys(app)
        yield Secured(app, keys, revoked)
    finally:
        await app.stop(1.0)
