"""The engine's storage port (`BatchStore`) over the SQL repositories, bound to one
session whose transaction the caller commits."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from server.domain import AwardRecord, OutboxItem, ProgressRecord
from server.engine.processor import BatchChanges, Key
from server.store import awards, events, learners, locks, outbox, progress
from server.store._driver import Driver

__all__ = ["SqlBatchStore"]


class SqlBatchStore:
    def __init__(self, session: Session) -> None:
        self._session = session
        self._unlocked: list[str] = []

    def lock_learners(self, learner_ids: Collection[str]) -> None:
        """Taken by the duplicate check's query, which comes next (one round trip
        instead of two on PostgreSQL), or by whatever statement comes first."""
        self._unlocked = list(learner_ids)

    def _lock(self) -> None:
        if self._unlocked:
            locks.lock_learners(self._session, self._unlocked)
            self._unlocked = []

    def existing_event_ids(self, ids: Collection[str]) -> set[str]:
        learner_ids, self._unlocked = self._unlocked, []
        return events.existing_event_ids(self._session, ids, learner_ids)

    def load_state(
        self, keys: Collection[Key]
    ) -> tuple[dict[Key, ProgressRecord], dict[Key, AwardRecord]]:
        self._lock()
        session = self._session
        return progress.load_progress(session, keys), awards.latest_awards(session, keys)

    def write(self, changes: BatchChanges) -> None:
        self._lock()
        session = self._session
        driver = Driver(session)
        inserts = [events.event_rows(driver, changes.events)]
        if changes.learners:
            now = changes.events[0].received_at
            inserts.append(learners.learner_rows(driver, changes.learners, now))
        inserts.append(progress.progress_rows(driver, changes.progress))
        # Three independent tables: one round trip on PostgreSQL.
        driver.insert_all(inserts)
        existing = [a for a in changes.awards if a.id is not None]
        new = [a for a in changes.awards if a.id is None]
        awards.insert_awards(session, new)
        for award in existing:
            awards.update_award(session, award)
        if changes.outbox:
            ids = {(a.learner_id, a.template_id, a.sequence): a.id for a in changes.awards}
            items = [
                OutboxItem(ids[identity], action, identity[1])  # type: ignore[arg-type]
                for identity, action in changes.outbox
            ]
            outbox.enqueue(session, items, changes.events[0].received_at)
