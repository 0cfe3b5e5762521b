"""An in-memory `BatchStore` with the same contract as the SQL one, so engine tests need
no database."""

from __future__ import annotations

import copy
from collections.abc import Collection
from dataclasses import dataclass, field, replace

from server.domain import AwardRecord, EventRecord, LearnerRecord, ProgressRecord
from server.engine.processor import BatchChanges, Key


@dataclass
class FakeBatchStore:
    events: dict[str, EventRecord] = field(default_factory=dict)
    learners: dict[str, LearnerRecord] = field(default_factory=dict)
    progress: dict[Key, ProgressRecord] = field(default_factory=dict)
    awards: dict[int, AwardRecord] = field(default_factory=dict)
    writes: int = 0

    def existing_event_ids(self, ids: Collection[str]) -> set[str]:
        return {i for i in ids if i in self.events}

    def load_state(
        self, keys: Collection[Key]
    ) -> tuple[dict[Key, ProgressRecord], dict[Key, AwardRecord]]:
        progress = {k: copy.deepcopy(self.progress[k]) for k in keys if k in self.progress}
        latest: dict[Key, AwardRecord] = {}
        for award in self.awards.values():
            key = (award.learner_id, award.template_id)
            if key in keys and (key not in latest or latest[key].sequence < award.sequence):
                latest[key] = replace(award)
        return progress, latest

    def write(self, changes: BatchChanges) -> None:
        self.writes += 1
        for event in changes.events:
            assert event.id not in self.events, "duplicate event id written"
            self.events[event.id] = event
        for learner in changes.learners:
            self.learners[learner.id] = learner
        for record in changes.progress:
            self.progress[(record.learner_id, record.template_id)] = copy.deepcopy(record)
        for award in changes.awards:
            if award.id is None:
                keys = {(a.learner_id, a.template_id, a.sequence) for a in self.awards.values()}
                assert (award.learner_id, award.template_id, award.sequence) not in keys, (
                    "unique award violated"
                )
                award.id = len(self.awards) + 1
            self.awards[award.id] = replace(award)

    def awards_of(self, learner_id: str) -> list[AwardRecord]:
        return sorted(
            (a for a in self.awards.values() if a.learner_id == learner_id),
            key=lambda a: a.sequence,
        )
