"""Provider badge templates as badgeflow knows them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from server.domain import TemplateRecord
from server.store._statements import chunks, upsert_insert
from server.store.models import Template

__all__ = [
    "active_template_ids",
    "ensure_templates",
    "get_template",
    "list_templates",
    "set_template_active",
    "template_id",
]

TemplateSpec = tuple[str, str, str, str]  # (provider, external_id, name, description)


def template_id(provider: str, external_id: str) -> str:
    """The template's id: "<provider>:<external id>", unique across providers."""
    return f"{provider}:{external_id}"


def get_template(session: Session, id: str) -> TemplateRecord | None:
    rows = _fetch(session, select(Template).where(Template.id == id))
    return template_from_row(rows[0]) if rows else None


def list_templates(
    session: Session, *, after_id: str | None, limit: int, active_only: bool
) -> list[TemplateRecord]:
    """One page, keyset-paged by id so pages stay stable while templates are synced."""
    stmt = select(Template)
    if after_id is not None:
        stmt = stmt.where(Template.id > after_id)
    if active_only:
        stmt = stmt.where(Template.active.is_(True))
    return [
        template_from_row(row) for row in _fetch(session, stmt.order_by(Template.id).limit(limit))
    ]


def ensure_templates(session: Session, specs: Sequence[TemplateSpec], now: datetime) -> list[str]:
    """Create the templates not yet known, inactive until their rules are applied.

    Known templates are left alone, even if the provider renamed them. ON CONFLICT DO
    NOTHING makes two replicas syncing at once safe; the ids created are returned in
    the order of `specs`.
    """
    rows = list({template_id(s[0], s[1]): _spec_row(s, now) for s in specs}.values())
    created: set[str] = set()
    for chunk in chunks(rows):
        stmt = upsert_insert(session, Template).values(list(chunk))
        stmt = stmt.on_conflict_do_nothing().returning(Template.id)
        created.update(session.scalars(stmt))
    return [row["id"] for row in rows if row["id"] in created]


def set_template_active(session: Session, id: str, active: bool, now: datetime) -> TemplateRecord:
    """Raises KeyError for an unknown id; `updated_at` moves only on a real change."""
    stmt = (
        update(Template)
        .where(Template.id == id, Template.active.is_not(active))
        .values(active=active, updated_at=now)
    )
    session.execute(stmt)
    record = get_template(session, id)
    if record is None:
        raise KeyError(id)
    return record


def active_template_ids(session: Session) -> set[str]:
    return set(session.scalars(select(Template.id).where(Template.active.is_(True))))


def _fetch(session: Session, stmt: Any) -> Sequence[Template]:
    # populate_existing: Core writes bypass the identity map, so never trust a cached row.
    return session.scalars(stmt.execution_options(populate_existing=True)).all()


def _spec_row(spec: TemplateSpec, now: datetime) -> dict[str, Any]:
    provider, external_id, name, description = spec
    return {
        "id": template_id(provider, external_id),
        "provider": provider,
        "external_id": external_id,
        "name": name,
        "description": description,
        "active": False,
        "created_at": now,
        "updated_at": now,
    }


def template_from_row(row: Template) -> TemplateRecord:
    """The record of a row; public within `server.store` for the read views."""
    return TemplateRecord(
        id=row.id,
        provider=row.provider,
        external_id=row.external_id,
        name=row.name,
        description=row.description,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )
