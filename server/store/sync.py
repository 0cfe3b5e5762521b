"""What template sync, the webhook receiver and reconciliation write: templates found
through a connection, the webhook events already processed, and provider badges read
back. Functions take a session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.domain import ProviderBadgeRecord
from server.store._statements import chunks, upsert_insert
from server.store.models import ProviderBadge, Template, WebhookEvent
from server.store.outbox import provider_badge_from_row
from server.store.templates import template_id

__all__ = [
    "apply_template_sync",
    "get_provider_badge",
    "record_webhook_event",
    "webhook_event_processed",
]

FoundTemplate = tuple[str, str, str]  # (external_id, name, description)


def apply_template_sync(
    session: Session,
    connection_id: str,
    provider: str,
    found: Sequence[FoundTemplate],
    now: datetime,
) -> tuple[list[str], list[str], list[str]]:
    """Make the templates of one connection match what it returned: `(created, updated,
    deactivated)` template ids.

    New templates arrive inactive; known ones get their changed name or description but
    keep `active`. A rule-created template (no connection yet) is claimed by this
    connection. A template another connection found is left alone. Templates of this
    connection that were not returned (archived, draft, deleted) become inactive."""
    wanted = {template_id(provider, ext): (ext, name, desc) for ext, name, desc in found}
    existing = _templates(session, sorted(wanted))
    created = _insert_new(
        session, connection_id, provider, [(i, wanted[i]) for i in wanted if i not in existing], now
    )
    updated = []
    for id_, (_, name, description) in wanted.items():
        row = existing.get(id_)
        if row is None or row.connection_id not in ("", connection_id):
            continue
        changes = _changes(row, connection_id, name, description)
        if changes:
            session.execute(
                update(Template).where(Template.id == id_).values(**changes, updated_at=now)
            )
            updated.append(id_)
    return created, updated, _deactivate_missing(session, connection_id, set(wanted), now)


def record_webhook_event(
    session: Session, connection_id: str, event_id: str, event_type: str, now: datetime
) -> bool:
    """Note the event as processed; False when it already was (a redelivery)."""
    stmt = (
        upsert_insert(session, WebhookEvent)
        .values(
            connection_id=connection_id, event_id=event_id, event_type=event_type, processed_at=now
        )
        .on_conflict_do_nothing()
        .returning(WebhookEvent.event_id)
    )
    return session.scalar(stmt) is not None


def webhook_event_processed(session: Session, connection_id: str, event_id: str) -> bool:
    stmt = select(WebhookEvent.event_id).where(
        WebhookEvent.connection_id == connection_id, WebhookEvent.event_id == event_id
    )
    return session.scalar(stmt) is not None


def get_provider_badge(
    session: Session, provider: str, external_id: str
) -> ProviderBadgeRecord | None:
    stmt = (
        select(ProviderBadge)
        .where(ProviderBadge.provider == provider, ProviderBadge.external_id == external_id)
        .execution_options(populate_existing=True)
    )
    row = session.scalar(stmt)
    if row is None:
        return None
    return provider_badge_from_row(row)


def _templates(session: Session, ids: Sequence[str]) -> dict[str, Template]:
    found: dict[str, Template] = {}
    for chunk in chunks(ids):
        stmt = select(Template).where(Template.id.in_(chunk))
        for row in session.scalars(stmt.execution_options(populate_existing=True)):
            found[row.id] = row
    return found


def _insert_new(
    session: Session,
    connection_id: str,
    provider: str,
    new: Sequence[tuple[str, FoundTemplate]],
    now: datetime,
) -> list[str]:
    rows = [
        {
            "id": id_,
            "provider": provider,
            "external_id": ext,
            "name": name,
            "description": description,
            "active": False,
            "connection_id": connection_id,
            "created_at": now,
            "updated_at": now,
        }
        for id_, (ext, name, description) in new
    ]
    created: set[str] = set()
    for chunk in chunks(rows):
        # DO NOTHING: two replicas syncing the same connection at once both succeed.
        stmt = upsert_insert(session, Template).values(list(chunk))
        created.update(session.scalars(stmt.on_conflict_do_nothing().returning(Template.id)))
    return [row["id"] for row in rows if row["id"] in created]


def _changes(row: Template, connection_id: str, name: str, description: str) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if row.name != name:
        changes["name"] = name
    if row.description != description:
        changes["description"] = description
    if row.connection_id != connection_id:
        changes["connection_id"] = connection_id
    return changes


def _deactivate_missing(
    session: Session, connection_id: str, returned: set[str], now: datetime
) -> list[str]:
    stmt = select(Template.id).where(
        Template.connection_id == connection_id, Template.active.is_(True)
    )
    gone = sorted(id_ for id_ in session.scalars(stmt) if id_ not in returned)
    for chunk in chunks(gone):
        session.execute(
            update(Template).where(Template.id.in_(chunk)).values(active=False, updated_at=now)
        )
    return gone
