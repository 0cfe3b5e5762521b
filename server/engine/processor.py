"""Processing of one batch of events: validate, de-duplicate, evaluate, decide awards.

The whole batch is one unit of work: the caller commits everything `process_batch`
hands to the store in one transaction and only then acknowledges, so an acked event's
effects are never lost and an unacked batch can simply be sent again."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from dsl.ruleset import CompiledBadge, CompiledRequirement, RequirementKind
from server.domain import (
    AwardRecord,
    AwardState,
    EventRecord,
    LearnerRecord,
    OutboxAction,
    ProgressRecord,
)
from server.engine import awarding
from server.engine import progress as prog
from server.engine.awarding import AwardChange, ChangeKind
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
    #: Provider calls owed, in order: (learner, template, sequence) of the award, action.
    outbox: list[tuple[tuple[str, str, int], OutboxAction]] = field(default_factory=list)


class BatchStore(Protocol):
    """The storage port of the engine, bound to one open transaction."""

    def lock_learners(self, learner_ids: Collection[str]) -> None:
        """Hold these learners against other writers until the transaction ends (a
        no-op where there is only one writer)."""
        ...

    def existing_event_ids(self, ids: Collection[str]) -> set[str]: ...

    def load_state(
        self, keys: Collection[Key]
    ) -> tuple[dict[Key, ProgressRecord], dict[Key, AwardRecord]]: ...

    def write(self, changes: BatchChanges) -> None:
        """Persist the changes; set `id` on inserted awards and queue the outbox
        items for them, in the same transaction."""
        ...


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    acks: list[EventAck]
    award_changes: list[AwardChange]


@dataclass(frozen=True, slots=True)
class _Match:
    event: IncomingEvent
    at: datetime
    listener: Listener


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


def _matches(rules: ActiveRules, events: Sequence[IncomingEvent], now: datetime) -> list[_Match]:
    """Every (event, listener) pair whose trigger accepts the event, in event order."""
    found: list[_Match] = []
    for event in events:
        at = event.occurred_at or now
        for listener in rules.listeners(event.type, event.payload):
            if listener.trigger.accepts(event.payload, at):
                found.append(_Match(event, at, listener))
    return found


def _dependency_keys(rules: ActiveRules, keys: Collection[Key]) -> set[Key]:
    """The (learner, template) pairs whose awards decide `has badge` requirements."""
    extra: set[Key] = set()
    for learner_id, template_id in keys:
        badge = rules.badge(template_id)
        for slug in badge.depends_on if badge else ():
            required = rules.rule_set.badge(slug)
            if required is not None:
                extra.add((learner_id, required.template_id))
    return extra


class _Batch:
    """The mutable state of one batch's evaluation."""

    def __init__(self, rules: ActiveRules, store: BatchStore, now: datetime) -> None:
        self.rules = rules
        self.store = store
        self.now = now
        self.progress: dict[Key, ProgressRecord] = {}
        self.latest: dict[Key, AwardRecord] = {}
        self.loaded: set[Key] = set()
        self.touched: set[Key] = set()
        self.changed: set[Key] = set()
        self.advanced: set[tuple[str, Key, str]] = set()
        self.award_changes: list[AwardChange] = []

    def load(self, keys: Collection[Key]) -> None:
        wanted = set(keys)
        wanted |= _dependency_keys(self.rules, wanted)
        missing = wanted - self.loaded
        if missing:
            progress, latest = self.store.load_state(missing)
            self.progress.update(progress)
            self.latest.update(latest)
            self.loaded |= missing

    def record(self, key: Key, badge: CompiledBadge) -> ProgressRecord:
        """The learner's progress on the badge, with `has badge` requirements brought up
        to date the first time the batch touches it (the required badge may have been
        awarded before this badge's rules were in force)."""
        if key not in self.progress:
            self.progress[key] = ProgressRecord(learner_id=key[0], template_id=key[1])
        record = self.progress[key]
        if key not in self.touched:
            self.touched.add(key)
            self._resync(key, badge, record)
        return record

    def _resync(self, key: Key, badge: CompiledBadge, record: ProgressRecord) -> None:
        if self._sync_dependencies(key, badge, record):
            self._touch(key, badge, record)
            if record.completed:
                self._award(key, badge, record)

    # -- events -----------------------------------------------------------------

    def apply(self, match: _Match) -> None:
        listener = match.listener
        badge = listener.badge
        key = (match.event.learner.id, badge.template_id)  # type: ignore[union-attr]
        record = self.record(key, badge)
        if listener.requirement is not None:
            # One event moves a requirement once: an event that fits two consecutive
            # steps of an ordered requirement completes only the first.
            step = (match.event.id, key, listener.requirement.name)
            if step not in self.advanced and self._advance(
                key, badge, record, listener.requirement, match
            ):
                self.advanced.add(step)
        elif listener.penalty is not None:
            was_complete = _complete(badge, record)
            if prog.reset(record, listener.penalty.resets):
                # `has badge` states a fact, not progress: a reset cannot take it away
                # while the learner still holds the badge.
                self._sync_dependencies(key, badge, record)
                self._touch(key, badge, record)
                if was_complete and not record.completed:
                    change = awarding.on_fell_below_complete(
                        self.latest.get(key), listener.penalty.name, self.now
                    )
                    self._note(key, badge, change)

    def _advance(
        self,
        key: Key,
        badge: CompiledBadge,
        record: ProgressRecord,
        requirement: CompiledRequirement,
        match: _Match,
    ) -> bool:
        """Apply the event to the requirement; returns whether the requirement moved."""
        name = requirement.name
        if name in record.requirements:
            return False
        if requirement.stateful:
            state, done = requirement.advance(
                record.partial.get(name), match.listener.trigger.slot, match.event.payload, match.at
            )
            if not done:
                if state is None or state == record.partial.get(name):
                    return False
                record.partial[name] = state
                self._touch(key, badge, record)
                return True
        evidence = prog.render_evidence(badge, match.event.payload)
        prog.fulfil(record, name, (match.event.id,), match.at, evidence)
        self._touch(key, badge, record)
        if record.completed:
            self._award(key, badge, record)
        return True

    # -- awards -----------------------------------------------------------------

    def _award(self, key: Key, badge: CompiledBadge, record: ProgressRecord) -> None:
        change = awarding.on_completed(badge, record, self.latest.get(key), self.now)
        if change is None:
            return
        # `on_completed` hands over a fresh record (with its expiry): finish it in place.
        change.award.evidence = prog.collect_evidence(badge, record)
        record.times_awarded += 1
        if badge.repeatable:
            # Earned again only by meeting the criteria again.
            record.requirements.clear()
            record.partial.clear()
            prog.recount(badge, record)
        self._note(key, badge, change)

    def _note(self, key: Key, badge: CompiledBadge, change: AwardChange | None) -> None:
        if change is None:
            return
        self.latest[key] = change.award
        self.award_changes.append(change)
        self._propagate(key[0], badge)

    def _propagate(self, learner_id: str, badge: CompiledBadge) -> None:
        """An award of `badge` changed: re-check the badges that require holding it."""
        for dependent in self.rules.dependents(badge.slug):
            key = (learner_id, dependent.template_id)
            self.load([key])
            self._resync(key, dependent, self.record(key, dependent))

    def _sync_dependencies(self, key: Key, badge: CompiledBadge, record: ProgressRecord) -> bool:
        """Make `has badge` requirements say whether the learner holds the badge now."""
        changed = False
        for group in badge.groups:
            for req in group.requirements:
                if req.kind is not RequirementKind.HAS_BADGE:
                    continue
                required = self.rules.rule_set.badge(req.badge)
                held = (
                    self.latest.get((key[0], required.template_id))
                    if required is not None
                    else None
                )
                if held is not None and held.state is AwardState.AWARDED:
                    changed |= prog.fulfil(record, req.name, held.event_ids, held.awarded_at)
                else:
                    changed |= prog.reset(record, (req.name,))
        return changed

    def _touch(self, key: Key, badge: CompiledBadge, record: ProgressRecord) -> None:
        prog.recount(badge, record)
        record.updated_at = self.now
        self.changed.add(key)


def _complete(badge: CompiledBadge, record: ProgressRecord) -> bool:
    prog.recount(badge, record)
    return record.completed


_OUTBOX_ACTIONS = {ChangeKind.AWARDED: OutboxAction.ISSUE, ChangeKind.REVOKED: OutboxAction.REVOKE}


def _identity(award: AwardRecord) -> tuple[str, str, int]:
    return (award.learner_id, award.template_id, award.sequence)


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
        payload_text=event.payload_text,
    )


def process_batch(
    rules: ActiveRules, events: Sequence[IncomingEvent], store: BatchStore, now: datetime
) -> BatchOutcome:
    acks, accepted = _screen(events, store)
    matches = _matches(rules, accepted, now)
    batch = _Batch(rules, store, now)
    batch.load({(m.event.learner.id, m.listener.badge.template_id) for m in matches})  # type: ignore[union-attr]
    for match in matches:
        batch.apply(match)
    finals = _final_awards(batch.award_changes)
    changes = BatchChanges(
        events=[_event_record(e, now) for e in accepted],
        learners=_learners(accepted),
        progress=[batch.progress[k] for k in sorted(batch.changed)],
        awards=finals,
        outbox=[(_identity(c.award), _OUTBOX_ACTIONS[c.kind]) for c in batch.award_changes],
    )
    store.write(changes)
    # Earlier states of an award changed twice in the batch are snapshots of the same
    # row: they get its id too, for the subscribers that hear of every change.
    ids = {_identity(a): a.id for a in finals}
    for change in batch.award_changes:
        if change.award.id is None:
            change.award.id = ids[_identity(change.award)]
    return BatchOutcome(acks, batch.award_changes)
