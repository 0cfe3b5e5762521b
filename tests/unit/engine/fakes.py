"""The engine's in-memory store, with a helper the tests use."""

from __future__ import annotations

from server.domain import AwardRecord
from server.engine.memory import MemoryBatchStore


class FakeBatchStore(MemoryBatchStore):
    def awards_of(self, learner_id: str) -> list[AwardRecord]:
        mine = (a for a in self.awards.values() if a.learner_id == learner_id)
        return sorted(mine, key=lambda a: a.sequence)
