"""The event log, which is also the idempotency record (one row per event id)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from server.domain import EventRecord
from server.store import locks
from server.store._driver import Driver, RowInsert
from server.store._statements import chunks
from server.store.models import Event

__all__ = [
    "count_events",
    "event_rows",
    "events_by_ids",
    "existing_event_ids",
    "get_event",
    "insert_events",
]


_INSERT = RowInsert(
    "events",
    [
        ("id", "text"),
        ("type", "text"),
        ("learner_id", "text"),
        ("occurred_at", "timestamptz"),
        ("received_at", "timestamptz"),
        ("payload", "jsonb"),
        ("source", "text"),
    ],
)


def existing_event_ids(
    session: Session, ids: Collection[str], lock_learners: Collection[str] = ()
) -> set[str]:
    """Which of `ids` were already accepted, so a batch can ack them as duplicates.
    Driver-level: it runs for every batch (see `_driver`). It also takes the locks of
    `lock_learners`: on PostgreSQL in its first query (see `locks.LOCK_GATE`)."""
    driver = Driver(session)
    found: set[str] = set()
    unlocked = bool(lock_learners) and driver.postgres
    for chunk in chunks(list(set(ids))):
        where, params = driver.is_in("id", chunk)
        if unlocked:
            where = f"{locks.LOCK_GATE} AND {where}"
            params = (locks.learner_lock_keys(lock_learners), *params)
            unlocked = False
        found.update(row[0] for row in driver.query(f"SELECT id FROM events WHERE {where}", params))
    if unlocked:
        locks.lock_learners(session, lock_learners)
    return found


def insert_events(session: Session, records: Sequence[EventRecord]) -> None:
    """One statement for the whole batch; a duplicate id raises IntegrityError."""
    driver = Driver(session)
    driver.insert(*event_rows(driver, records))


def event_rows(driver: Driver, records: Sequence[EventRecord]) -> tuple[RowInsert, list[Any]]:
    """The insert of `records`, for `Driver.insert_all`."""
    times: dict[datetime, Any] = {}  # a batch shares its received_at, often occurred_at

    def time(value: datetime) -> Any:
        stored = times.get(value)
        if stored is None:
            stored = times[value] = driver.time(value)
        return stored

    rows = [
        (
            r.id,
            r.type,
            r.learner_id,
            time(r.occurred_at),
            time(r.received_at),
            driver.json(r.payload) if r.payload_text is None else r.payload_text,
            r.source,
        )
        for r in records
    ]
    return _INSERT, rows


def count_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Event)) or 0


def get_event(session: Session, id: str) -> EventRecord | None:
    row = session.scalars(
        select(Event).where(Event.id == id).execution_options(populate_existing=True)
    ).one_or_none()
    return None if row is None else _to_record(row)


def events_by_ids(session: Session, ids: Collection[str]) -> dict[str, EventRecord]:
    """The logged events among `ids`, by id; ids past the log's retention are absent."""
    found: dict[str, EventRecord] = {}
    for chunk in chunks(sorted(set(ids))):
        stmt = select(Event).where(Event.id.in_(chunk)).execution_options(populate_existing=True)
        found.update((row.id, _to_record(row)) for row in session.scalars(stmt))
    return found


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
