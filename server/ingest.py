"""Ingest: the bridge between the event servicer and the engine.

It runs each batch as one write transaction, acks only after commit, and tells
`WatchAwards` subscribers about award changes once they are durable."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.engine.broadcast import AwardBroadcaster
from server.engine.events import EventAck, IncomingEvent, Outcome
from server.engine.processor import BatchOutcome, BatchStore, process_batch
from server.engine.ruleset import ActiveRules
from server.logs import current_request_id
from server.metrics import Metrics
from server.transactions import TransactionRunner

__all__ = ["DEFAULT_GROUP_EVENTS", "Ingestor", "RulesHolder", "utcnow"]

_log = logging.getLogger("badgeflow.ingest")


def utcnow() -> datetime:
    return datetime.now(UTC)


class RulesHolder:
    """The one reference to the rules in force; replaced whole, never mutated."""

    def __init__(self, rules: ActiveRules) -> None:
        self.current = rules

    def replace(self, rules: ActiveRules) -> None:
        _log.info(
            "rules in force",
            extra={"version": rules.version, "active_templates": len(rules.active_templates)},
        )
        self.current = rules


#: Most events one group commit carries; more waiting batches go in the next group.
DEFAULT_GROUP_EVENTS = 2_000


@dataclass(slots=True)
class _Pending:
    events: Sequence[IncomingEvent]
    done: asyncio.Future[list[EventAck]]
    request_id: str = ""  # of the RPC that sent the batch, for its log lines


class Ingestor:
    """Group commit: batches that arrive while the writer is busy (from several streams,
    or read ahead from one) are processed one after the other in one transaction, so the
    commit (the WAL write on SQLite) is paid once per group instead of once per batch.
    Each batch keeps its own acks, sent only after the group committed."""

    def __init__(
        self,
        runner: TransactionRunner,
        store_for: Callable[[Session], BatchStore],
        rules: RulesHolder,
        broadcaster: AwardBroadcaster,
        clock: Callable[[], datetime] = utcnow,
        max_group_events: int = DEFAULT_GROUP_EVENTS,
        metrics: Metrics | None = None,
    ) -> None:
        self._runner = runner
        self._store_for = store_for
        self._rules = rules
        self._broadcaster = broadcaster
        self._clock = clock
        self._max_group_events = max_group_events
        self._metrics = metrics or Metrics()
        self._queue: deque[_Pending] = deque()
        self._drainer: asyncio.Future[None] | None = None

    async def ingest(self, events: Sequence[IncomingEvent]) -> list[EventAck]:
        loop = asyncio.get_running_loop()
        pending = _Pending(events, loop.create_future(), current_request_id.get())
        self._queue.append(pending)
        if self._drainer is None:
            # Its own context: the drainer serves the batches of many RPCs, so it must not
            # log under the request id of the one that happened to start it.
            self._drainer = loop.create_task(self._drain(), context=contextvars.Context())
        # Shielded: a caller that goes away must not cancel the shared future.
        return await asyncio.shield(pending.done)

    async def _drain(self) -> None:
        """Commit the waiting batches a group at a time until none wait."""
        try:
            while self._queue:
                await self._commit(self._next_group())
        finally:
            self._drainer = None

    def _next_group(self) -> list[_Pending]:
        group = [self._queue.popleft()]
        size = len(group[0].events)
        while self._queue and size + len(self._queue[0].events) <= self._max_group_events:
            size += len(self._queue[0].events)
            group.append(self._queue.popleft())
        return group

    async def _commit(self, group: list[_Pending]) -> None:
        started = time.perf_counter()
        try:
            outcomes = await self._write([p.events for p in group])
        except Exception as error:  # noqa: BLE001 - handed to the batches' callers
            if len(group) == 1:
                if not group[0].done.done():
                    group[0].done.set_exception(error)
                return
            # One bad batch must not fail the others: each alone decides its own fate.
            _log.info("group commit failed; retrying its batches one by one")
            for pending in group:
                await self._commit([pending])
            return
        self._metrics.group_seconds.observe(time.perf_counter() - started)
        for pending, outcome in zip(group, outcomes, strict=True):
            self._finish(pending, outcome)

    async def _write(self, batches: list[Sequence[IncomingEvent]]) -> list[BatchOutcome]:
        rules = self._rules.current

        learners = {e.learner.id for events in batches for e in events if e.learner is not None}

        def work(session: Session) -> list[BatchOutcome]:
            store = self._store_for(session)
            # First, before the duplicate check: another replica may be writing the same
            # learners at once.
            store.lock_learners(learners)
            now = self._clock()
            started = time.perf_counter()
            # The group's batches as one: the same result as one after the other (events
            # in arrival order, a repeated id a duplicate), for one set of statements
            # instead of one per batch, which under load is most of the cost of a group
            # of small batches.
            merged = process_batch(rules, [e for events in batches for e in events], store, now)
            self._metrics.evaluation_seconds.observe(time.perf_counter() - started)
            return _split(merged, [len(events) for events in batches])

        try:
            return await self._runner.write(work)
        except IntegrityError:
            # Another writer (a second replica) committed one of these event ids between
            # our duplicate check and our insert; a second pass sees it as a duplicate.
            _log.info("batch raced another writer; retrying", extra={"batches": len(batches)})
            return await self._runner.write(work)

    def _finish(self, pending: _Pending, outcome: BatchOutcome) -> None:
        self._broadcaster.publish(outcome.award_changes)
        for ack in outcome.acks:
            if ack.outcome is Outcome.REJECTED:
                _log.info(
                    "event rejected",
                    extra={
                        "event_id": ack.event_id,
                        "reason_code": ack.reason_code,
                        "request_id": pending.request_id,
                    },
                )
        if not pending.done.done():
            pending.done.set_result(outcome.acks)


def _split(outcome: BatchOutcome, sizes: list[int]) -> list[BatchOutcome]:
    """A group's outcome given back per batch: each batch its own acks (one per event, in
    order); the award changes go with the first, to be announced once."""
    outcomes: list[BatchOutcome] = []
    start = 0
    for size in sizes:
        changes = outcome.award_changes if not outcomes else []
        outcomes.append(BatchOutcome(outcome.acks[start : start + size], changes))
        start += size
    return outcomes
