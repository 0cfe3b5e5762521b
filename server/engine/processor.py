"""Processing of one batch of events: validate, de-duplicate, evaluate, decide awards.

The whole batch is one unit of work: the caller commits everything `process_batch`
hands to the store in one transaction and only then acknowledges, so an acked event's
effects are never lost and an unacked batch can simply be sent again."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from dsl import CompiledBadge
from server.domain import AwardRecord, EventRecord, LearnerRecord, ProgressRecord
from server.engine import awarding
from server.engine import progress as prog
from server.engine.awarding import AwardChange
from server.engine.events import EventAck, IncomingEvent, Outcome, rejection
from server.engine.ruleset import ActiveRules, Listener

__all__ = ["BatchChanges", "BatchOutcome", "BatchStore", "Key", "process_batch"]

Key = tuple[str, str]  # (learner id, template id)


@dataclass(slots=True)
class BatchChanges:
    """Everything one batch writes; `awards` are final states, inserted when `id` is None."""

    events: list[EventRecord] = field(default_factory=list)
    learners: list[LearnerRecord] = field(default_factory=list)
    progress: list[ProgressRecord] = field(default_factory=list)
    awards: list[AwardRecord] = field(default_factory=list)


class BatchStore(Protocol):
    """The storage port of the engine, bound to one open transaction."""

    def existing_event_ids(self, ids: Collection[str]) -> set[str]: ...

    def load_state(
        self, keys: Collection[Key]
    ) -> tuple[dict[Key, ProgressRecord], dict[Key, AwardRecord]]: ...

    def write(self, changes: BatchChanges) -> None:
        """Persist the changes; set `id` on inserted awards."""
        ...


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    acks: list[EventAck]
    award_changes: list[AwardChange]


def _screen(
    events: Sequence[IncomingEvent], store: BatchStore
) -> tuple[list[EventAck], list[IncomingEvent]]:
    """Acks for every event, and the events to process (valid, first of their id)."""
    verdicts: list[EventAck | None] = [rejection(e) for e in events]
    candidates = {e.id for e, v in zip(events, verdicts, strict=True) if v is None}
    seen = store.existing_event_ids(candidates) if candidates else set()
    accepted: list[IncomingEvent] = []
    for i, event in enumerate(events):
        if verdicts[i] is not None:
            continue
        if event.id in seen:
            verdicts[i] = EventAck(event.id, Outcome.DUPLICATE)
            continue
        seen.add(event.id)
        verdicts[i] = EventAck(event.id, Outcome.ACCEPTED)
        accepted.append(event)
    return [v for v in verdicts if v is not None], accepted


def _matches(
    rules: ActiveRules, events: Sequence[IncomingEvent]
) -> list[tuple[IncomingEvent, Listener]]:
    """Every (event, listener) pair whose predicate holds, in event order."""
    found: list[tuple[IncomingEvent, Listener]] = []
    for event in events:
        for listener in rules.listeners(event.type):
            if listener.matches(event.payload):
                found.append((event, listener))
    return found


class _Batch:
    """The mutable state of one batch's evaluation."""

    def __init__(
        self, progress: dict[Key, ProgressRecord], latest: dict[Key, AwardRecord], now: datetime
    ) -> None:
        self.progress = progress
        self.latest = latest
        self.now = now
        self.changed: set[Key] = set()
        self.award_changes: list[AwardChange] = []

    def record(self, key: Key) -> ProgressRecord:
        if key not in self.progress:
            self.progress[key] = ProgressRecord(learner_id=key[0], template_id=key[1])
        return self.progress[key]

    def apply(self, event: IncomingEvent, listener: Listener) -> None:
        badge = listener.badge
        key = (event.learner.id, badge.template_id)  # type: ignore[union-attr]
        record = self.record(key)
        was_complete = _complete(badge, record)
        if listener.requirement is not None:
            at = event.occurred_at or self.now
            if prog.fulfil(record, listener.requirement, event.id, at):
                self._touch(key, badge, record)
                # Complete now, with a new fulfilment: award unless one stands (also
                # covers progress that a rule change completed without an event).
                if record.completed:
                    self._award(key, badge, record)
        elif listener.penalty is not None and prog.reset(record, listener.penalty.resets):
            self._touch(key, badge, record)
            if was_complete and not _complete(badge, record):
                self._note(
                    key,
                    awarding.on_fell_below_complete(
                        self.latest.get(key), listener.penalty.name, self.now
                    ),
                )

    def _touch(self, key: Key, badge: CompiledBadge, record: ProgressRecord) -> None:
        prog.recount(badge, record)
        record.updated_at = self.now
        self.changed.add(key)

    def _award(self, key: Key, badge: CompiledBadge, record: ProgressRecord) -> None:
        change = awarding.on_completed(badge, record, self.latest.get(key), self.now)
        if change is None:
            return
        self._note(key, change)
        record.times_awarded += 1
        if badge.repeatable:
            # Earned again only by meeting the criteria again.
            record.requirements.clear()
            prog.recount(badge, record)

    def _note(self, key: Key, change: AwardChange | None) -> None:
        if change is not None:
            self.latest[key] = change.award
            self.award_changes.append(change)


def _complete(badge: CompiledBadge, record: ProgressRecord) -> bool:
    prog.recount(badge, record)
    return record.completed


def _final_awards(changes: list[AwardChange]) -> list[AwardRecord]:
    final: dict[tuple[str, str, int], AwardRecord] = {}
    for change in changes:
        a = change.award
        final[(a.learner_id, a.template_id, a.sequence)] = a
    return list(final.values())


def _learners(events: Sequence[IncomingEvent]) -> list[LearnerRecord]:
    latest = {e.learner.id: e.learner for e in events if e.learner is not None}
    return list(latest.values())


def _event_record(event: IncomingEvent, now: datetime) -> EventRecord:
    return EventRecord(
        id=event.id,
        type=event.type,
        learner_id=event.learner.id,  # type: ignore[union-attr]
        occurred_at=event.occurred_at or now,
        received_at=now,
        payload=event.payload,
        source=event.source,
    )


def process_batch(
    rules: ActiveRules, events: Sequence[IncomingEvent], store: BatchStore, now: datetime
) -> BatchOutcome:
    acks, accepted = _screen(events, store)
    matches = _matches(rules, accepted)
    keys = {(e.learner.id, hit.badge.template_id) for e, hit in matches}  # type: ignore[union-attr]
    progress, latest = store.load_state(keys) if keys else ({}, {})
    batch = _Batch(progress, latest, now)
    for event, listener in matches:
        batch.apply(event, listener)
    finals = _final_awards(batch.award_changes)
    changes = BatchChanges(
        events=[_event_record(e, now) for e in accepted],
        learners=_learners(accepted),
        progress=[batch.progress[k] for k in sorted(batch.changed)],
        awards=finals,
    )
    store.write(changes)
    ids = {(a.learner_id, a.template_id, a.sequence): a.id for a in finals}
    notified = [
        replace(
            c,
            award=replace(
                c.award, id=ids[(c.award.learner_id, c.award.template_id, c.award.sequence)]
            ),
        )
        for c in batch.award_changes
    ]
    return BatchOutcome(acks, notified)
