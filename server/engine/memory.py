"""An in-memory `BatchStore`: the engine without a database.

Used to run rule files offline (`badgectl rules test`), to estimate what a backfill
would award (`plan`), and by the engine's own tests. Same contract as the SQL store:
loads return copies, writes keep copies, inserted awards get ids."""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass, field, replace

from server.domain import AwardRecord, EventRecord, LearnerRecord, OutboxItem, ProgressRecord
from server.engine.processor import BatchChanges, Key

__all__ = ["MemoryBatchStore"]


@dataclass
class MemoryBatchStore:
    events: dict[str, EventRecord] = field(default_factory=dict)
    learners: dict[str, LearnerRecord] = field(default_factory=dict)
    progress: dict[Key, ProgressRecord] = field(default_factory=dict)
    awards: dict[int, AwardRecord] = field(default_factory=dict)
    outbox: list[OutboxItem] = field(default_factory=list)
    writes: int = 0

    def lock_learners(self, learner_ids: Collection[str]) -> None:
        """One writer: nothing to lock."""

    def existing_event_ids(self, ids: Collection[str]) -> set[str]:
        return {i for i in ids if i in self.events}

    def load_state(
        self, keys: Collection[Key]
    ) -> tuple[dict[Key, ProgressRecord], dict[Key, AwardRecord]]:
        wanted = set(keys)
        progress = {k: copy.deepcopy(self.progress[k]) for k in wanted if k in self.progress}
        latest: dict[Key, AwardRecord] = {}
        for award in self.awards.values():
            key = (award.learner_id, award.template_id)
            if key in wanted and (key not in latest or latest[key].sequence < award.sequence):
                latest[key] = replace(award)
        return progress, latest

    def write(self, changes: BatchChanges) -> None:
        self.writes += 1
        for event in changes.events:
            if event.id in self.events:
                raise ValueError(f"event {event.id!r} written twice")
            self.events[event.id] = event
        for learner in changes.learners:
            self.learners[learner.id] = learner
        for record in changes.progress:
            self.progress[(record.learner_id, record.template_id)] = copy.deepcopy(record)
        taken = {(a.learner_id, a.template_id, a.sequence) for a in self.awards.values()}
        for award in changes.awards:
            if award.id is None:
                identity = (award.learner_id, award.template_id, award.sequence)
                if identity in taken:
                    raise ValueError(f"award {identity} inserted twice")
                taken.add(identity)
                award.id = len(self.awards) + 1
            self.awards[award.id] = replace(award)
        ids = {(a.learner_id, a.template_id, a.sequence): a.id for a in changes.awards}
        for identity, action in changes.outbox:
            self.outbox.append(OutboxItem(ids[identity], action, identity[1]))  # type: ignore[arg-type]

    def latest_award(self, learner_id: str, template_id: str) -> AwardRecord | None:
        return self.load_state([(learner_id, template_id)])[1].get((learner_id, template_id))
