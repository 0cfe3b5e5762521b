"""The event log's retention: deleting events that arrived before a cutoff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from server.store.models import Event

__all__ = ["delete_events_received_before"]


def delete_events_received_before(session: Session, cutoff: datetime, limit: int) -> int:
    """Delete up to `limit` of the oldest events received before `cutoff` (by the
    received_at index); returns how many. Bounded, so one sweep transaction never holds
    the writer for long."""
    oldest = (
        select(Event.id).where(Event.received_at < cutoff).order_by(Event.received_at).limit(limit)
    )
    result = session.execute(delete(Event).where(Event.id.in_(oldest.scalar_subquery())))
    return result.rowcount  # type: ignore[attr-defined, no-any-return]
