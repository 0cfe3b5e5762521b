"""The event log, which is also the idempotency record (one row per event id)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from server.domain import EventRecord
from server.store._statements import chunks
from server.store.models import Event

__all__ = ["count_events", "existing_event_ids", "get_event", "insert_events"]


def existing_event_ids(session: Session, ids: Collection[str]) -> set[str]:
    """Which of `ids` were already accepted, so a batch can ack them as duplicates."""
    found: set[str] = set()
    for chunk in chunks(sorted(set(ids))):
        found.update(session.scalars(select(Event.id).where(Event.id.in_(chunk))))
    return found


def insert_events(session: Session, records: Sequence[EventRecord]) -> None:
    """One executemany for the whole batch; a duplicate id raises IntegrityError."""
    if records:
        session.connection().execute(
            insert(Event.__table__), [_to_row(record) for record in records]
        )


def count_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Event)) or 0


def get_event(session: Session, id: str) -> EventRecord | None:
    row = session.scalars(
        select(Event).where(Event.id == id).execution_options(populate_existing=True)
    ).one_or_none()
    return None if row is None else _to_record(row)


def _to_row(record: EventRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "type": record.type,
        "learner_id": record.learner_id,
        "occurred_at": record.occurred_at,
        "received_at": record.received_at,
        "payload": record.payload,
        "source": record.source,
    }


def _to_record(row: Event) -> EventRecord:
    return EventRecord(
        id=row.id,
        type=row.type,
        learner_id=row.learner_id,
        occurred_at=row.occurred_at,
        received_at=row.received_at,
        payload=row.payload,
        source=row.source,
    )
