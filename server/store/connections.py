"""Provider connections. Disconnecting deactivates; nothing is ever deleted, so every
award, provider badge and template keeps the connection it came through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.domain import ConnectionRecord
from server.store._statements import upsert_insert
from server.store.models import ProviderConnection, Template

__all__ = [
    "get_connection",
    "list_connections",
    "save_connection",
    "set_connection_active",
    "template_connections",
]


def save_connection(session: Session, record: ConnectionRecord) -> None:
    """Insert, or update a reconnected one (new token, name, host; active again)."""
    table = ProviderConnection.__table__
    row = {c.name: getattr(record, c.name) for c in table.columns}
    stmt = upsert_insert(session, table)
    changing = {k: stmt.excluded[k] for k in row if k not in ("id", "created_at")}
    session.connection().execute(
        stmt.on_conflict_do_update(index_elements=[table.c.id], set_=changing), [row]
    )


def get_connection(session: Session, connection_id: str) -> ConnectionRecord | None:
    row = session.get(ProviderConnection, connection_id, populate_existing=True)
    return _to_record(row) if row is not None else None


def list_connections(session: Session, *, active_only: bool = False) -> list[ConnectionRecord]:
    stmt = select(ProviderConnection).order_by(ProviderConnection.id)
    if active_only:
        stmt = stmt.where(ProviderConnection.active.is_(True))
    return [_to_record(r) for r in session.scalars(stmt.execution_options(populate_existing=True))]


def set_connection_active(
    session: Session, connection_id: str, active: bool, now: datetime
) -> bool:
    result = session.execute(
        update(ProviderConnection)
        .where(ProviderConnection.id == connection_id)
        .values(active=active, updated_at=now)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def template_connections(session: Session) -> dict[str, str]:
    """template id → connection id, for templates a sync found through a connection."""
    stmt = select(Template.id, Template.connection_id).where(Template.connection_id != "")
    return {template_id: connection_id for template_id, connection_id in session.execute(stmt)}


def _to_record(row: ProviderConnection) -> ConnectionRecord:
    return ConnectionRecord(
        id=row.id,
        kind=row.kind,
        name=row.name,
        organization_id=row.organization_id,
        base_url=row.base_url,
        sealed_token=row.sealed_token,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
