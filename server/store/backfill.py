"""Reads of the event log for a backfill: a learner at a time, never the whole log.

A backfill replays each learner's events separately (progress is per learner), so it
pages through learners by id (the events table is indexed on learner_id) and loads one
page's events at a time."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.domain import EventRecord
from server.store._statements import chunks
from server.store.models import Event

__all__ = ["count_events_of_types", "learner_event_counts", "learner_events"]


def count_events_of_types(session: Session, types: Collection[str]) -> int:
    """How many logged events have one of the types (the work a backfill will do)."""
    if not types:
        return 0
    stmt = select(func.count()).select_from(Event).where(Event.type.in_(sorted(types)))
    return session.scalar(stmt) or 0


def learner_event_counts(
    session: Session, types: Collection[str], after: str | None, limit: int
) -> list[tuple[str, int]]:
    """The next `limit` learners by id after `after` with events of the types, each with
    how many: keyset-paged, so learners logged meanwhile are still reached."""
    if not types:
        return []
    stmt = select(Event.learner_id, func.count()).where(Event.type.in_(sorted(types)))
    if after is not None:
        stmt = stmt.where(Event.learner_id > after)
    stmt = stmt.group_by(Event.learner_id).order_by(Event.learner_id).limit(limit)
    return [(learner_id, count) for learner_id, count in session.execute(stmt)]


# EventRecord's fields in order, without `payload_text` (a log row holds the payload once).
_EVENT_COLUMNS = ("id", "type", "learner_id", "occurred_at", "received_at", "payload", "source")


def learner_events(
    session: Session, learner_ids: Sequence[str], types: Collection[str]
) -> list[EventRecord]:
    """The learners' events of the types, in the order they happened (then by id)."""
    table = Event.__table__
    columns = [table.c[name] for name in _EVENT_COLUMNS]
    found: list[EventRecord] = []
    for ids in chunks(sorted(set(learner_ids))):
        # Core rows, not ORM instances: a replay reads many events once and never
        # changes them, and skipping the identity map halves the cost of loading them.
        stmt = select(*columns).where(table.c.learner_id.in_(ids), table.c.type.in_(sorted(types)))
        found.extend(EventRecord(*row) for row in session.execute(stmt).all())
    found.sort(key=lambda e: (e.occurred_at, e.id))
    return found
