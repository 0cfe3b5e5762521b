"""The engine's storage port (`BatchStore`) over the SQL repositories, bound to one
session whose transaction the caller commits."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from server.domain import AwardRecord, OutboxItem, ProgressRecord
from server.engine.processor import BatchChanges, Key
from server.store import awards, events, learners, locks, outbox, progress

__all__ = ["SqlBatchStore"]


class SqlBatchStore:
    def __init__(self, session: Session) -> None:
        self._session = session

    def lock_learners(self, learner_ids: Collection[str]) -> None:
        locks.lock_learners(self._session, learner_ids)

    def existing_event_ids(self, ids: Collection[str]) -> set[str]:
        return events.existing_event_ids(self._session, ids)

    def load_state(
        self, keys: Collection[Key]
    ) -> tuple[dict[Key, ProgressRecord], dict[Key, AwardRecord]]:
        session = self._session
        return progress.load_progress(session, keys), awards.latest_awards(session, keys)

    def write(self, changes: BatchChanges) -> None:
        session = self._session
        if changes.events:
            events.insert_events(session, changes.events)
        if changes.learners:
            now = changes.events[0].received_at
            learners.upsert_learners(session, changes.learners, now)
        if changes.progress:
            progress.save_progress(session, changes.progress)
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
