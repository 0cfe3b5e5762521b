"""Ingest's group commit and the event stream's read-ahead, against the in-memory store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from badgeflow.v1 import event_pb2, event_service_pb2
from google.protobuf import struct_pb2

from dsl import SourceFile, compile_rules
from server.domain import LearnerRecord
from server.engine.broadcast import AwardBroadcaster
from server.engine.events import IncomingEvent, Outcome
from server.engine.memory import MemoryBatchStore
from server.engine.ruleset import ActiveRules
from server.errors import InvalidArgument
from server.ingest import Ingestor, RulesHolder
from server.services.events import EventServiceServicer

T = TypeVar("T")
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PASSED = "org.openedx.learning.course.passing.status.updated.v1"
RULES = """
badge "a-and-b" {
    template credly "t"
    require a: on course_passed where is_passing and course.course_key == "A"
    require b: on course_passed where is_passing and course.course_key == "B"
}
"""


class GatedRunner:
    """A writer that runs one unit of work at a time, each only once the test opens the
    gate, and counts the transactions; a unit that raises is rolled back by the store."""

    def __init__(self, store: MemoryBatchStore) -> None:
        self.store = store
        self.gate = asyncio.Event()
        self.gate.set()
        self.transactions = 0
        self.fail_when: Callable[[MemoryBatchStore], bool] = lambda _store: False

    async def write(self, work: Callable[[Any], T]) -> T:
        await self.gate.wait()
        self.transactions += 1
        snapshot = (dict(self.store.events), dict(self.store.progress), dict(self.store.awards))
        try:
            result = work(None)
            if self.fail_when(self.store):
                raise RuntimeError("commit failed")
        except Exception:
            self.store.events, self.store.progress, self.store.awards = snapshot
            raise
        return result


def _event(event_id: str, course: str = "A", learner: str = "ada") -> IncomingEvent:
    payload = {"is_passing": True, "course": {"course_key": course}}
    return IncomingEvent(event_id, PASSED, LearnerRecord(learner), NOW, payload)


def _ingestor(runner: GatedRunner) -> Ingestor:
    rules = ActiveRules(1, compile_rules([SourceFile("r.badge", RULES)]), ["credly:t"])
    return Ingestor(
        runner,  # type: ignore[arg-type]
        lambda _session: runner.store,
        RulesHolder(rules),
        AwardBroadcaster(),
        clock=lambda: NOW,
    )


async def test_batches_waiting_for_the_writer_share_one_transaction() -> None:
    runner = GatedRunner(MemoryBatchStore())
    ingestor = _ingestor(runner)
    runner.gate.clear()
    calls = [
        asyncio.ensure_future(ingestor.ingest([_event(f"e{i}", learner=f"l{i}")])) for i in range(5)
    ]
    await asyncio.sleep(0)
    runner.gate.set()
    acks = await asyncio.gather(*calls)
    assert [[a.event_id for a in batch] for batch in acks] == [[f"e{i}"] for i in range(5)]
    assert runner.transactions == 1
    assert sorted(runner.store.events) == [f"e{i}" for i in range(5)]


async def test_a_group_sees_its_own_earlier_batches() -> None:
    runner = GatedRunner(MemoryBatchStore())
    ingestor = _ingestor(runner)
    runner.gate.clear()
    first = asyncio.ensure_future(ingestor.ingest([_event("a", "A")]))
    second = asyncio.ensure_future(ingestor.ingest([_event("a", "A"), _event("b", "B")]))
    await asyncio.sleep(0)
    runner.gate.set()
    acks = [*await first, *await second]
    assert [(a.event_id, a.outcome) for a in acks] == [
        ("a", Outcome.ACCEPTED),
        ("a", Outcome.DUPLICATE),
        ("b", Outcome.ACCEPTED),
    ]
    assert len(runner.store.awards) == 1
    assert runner.transactions == 1


async def test_a_failing_batch_fails_alone() -> None:
    runner = GatedRunner(MemoryBatchStore())
    ingestor = _ingestor(runner)
    runner.fail_when = lambda store: "bad" in store.events
    runner.gate.clear()
    good = asyncio.ensure_future(ingestor.ingest([_event("good", learner="l1")]))
    bad = asyncio.ensure_future(ingestor.ingest([_event("bad", learner="l2")]))
    await asyncio.sleep(0)
    runner.gate.set()
    assert [a.outcome for a in await good] == [Outcome.ACCEPTED]
    with pytest.raises(RuntimeError, match="commit failed"):
        await bad
    assert sorted(runner.store.events) == ["good"]


def _proto(event_id: str, course: str) -> event_pb2.Event:
    payload = struct_pb2.Struct()
    payload.update({"is_passing": True, "course": {"course_key": course}})
    return event_pb2.Event(
        id=event_id, type=PASSED, learner=event_pb2.Learner(id="ada"), payload=payload
    )


async def _requests(
    batches: list[list[event_pb2.Event]],
) -> AsyncIterator[event_service_pb2.StreamEventsRequest]:
    for sequence, events in enumerate(batches, 1):
        yield event_service_pb2.StreamEventsRequest(sequence=sequence, events=events)


async def test_stream_acks_in_order_one_reply_per_message() -> None:
    runner = GatedRunner(MemoryBatchStore())
    servicer = EventServiceServicer(_ingestor(runner), max_batch_events=10)
    batches = [[_proto(f"e{i}", "AB"[i % 2])] for i in range(10)]
    replies = [
        r
        async for r in servicer.StreamEvents.__wrapped__(servicer, _requests(batches), None)  # type: ignore[attr-defined]
    ]
    assert [r.sequence for r in replies] == list(range(1, 11))
    assert [r.results[0].event_id for r in replies] == [f"e{i}" for i in range(10)]
    assert runner.transactions < 10  # read ahead: batches shared commits


async def test_stream_ends_with_the_first_failing_batch() -> None:
    runner = GatedRunner(MemoryBatchStore())
    servicer = EventServiceServicer(_ingestor(runner), max_batch_events=1)
    batches = [[_proto("e1", "A")], [_proto("e2", "A"), _proto("e3", "B")], [_proto("e4", "A")]]
    replies = []
    with pytest.raises(InvalidArgument):
        async for reply in servicer.StreamEvents.__wrapped__(  # type: ignore[attr-defined]
            servicer, _requests(batches), None
        ):
            replies.append(reply)
    assert [r.sequence for r in replies] == [1]
