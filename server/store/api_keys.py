"""API keys as stored: the secret only as its hash. Revoking keeps the row, so a list
shows who had access and until when."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.store.models import ApiKey

__all__ = [
    "ApiKeyRecord",
    "get_api_key",
    "insert_api_key",
    "list_api_keys",
    "revoke_api_key",
    "touch_api_key",
]


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """One key; `secret_hash` is the SHA-256 hex digest of the whole key."""

    key_id: str
    name: str
    role: str
    created_at: datetime
    secret_hash: str = field(repr=False)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


def insert_api_key(session: Session, record: ApiKeyRecord) -> None:
    session.add(
        ApiKey(
            key_id=record.key_id,
            secret_hash=record.secret_hash,
            name=record.name,
            role=record.role,
            created_at=record.created_at,
            last_used_at=record.last_used_at,
            revoked_at=record.revoked_at,
        )
    )
    session.flush()


def get_api_key(session: Session, key_id: str) -> ApiKeyRecord | None:
    row = session.get(ApiKey, key_id, populate_existing=True)
    return _to_record(row) if row is not None else None


def list_api_keys(session: Session, *, include_revoked: bool = False) -> list[ApiKeyRecord]:
    stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.key_id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return [_to_record(r) for r in session.scalars(stmt.execution_options(populate_existing=True))]


def revoke_api_key(session: Session, key_id: str, now: datetime) -> bool:
    """Revoke a valid key; False if it is unknown or already revoked."""
    result = session.execute(
        update(ApiKey)
        .where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def touch_api_key(session: Session, key_id: str, now: datetime) -> None:
    """Record that the key authenticated a call at `now`."""
    session.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(last_used_at=now))


def _to_record(row: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row.key_id,
        name=row.name,
        role=row.role,
        created_at=row.created_at,
        secret_hash=row.secret_hash,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
