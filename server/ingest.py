"""Ingest: the bridge between the event servicer and the engine.

It runs each batch as one write transaction, acks only after commit, and tells
`WatchAwards` subscribers about award changes once they are durable."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.engine.broadcast import AwardBroadcaster
from server.engine.events import EventAck, IncomingEvent, Outcome
from server.engine.processor import BatchStore, process_batch
from server.engine.ruleset import ActiveRules
from server.transactions import TransactionRunner

__all__ = ["Ingestor", "RulesHolder", "utcnow"]

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


class Ingestor:
    def __init__(
        self,
        runner: TransactionRunner,
        store_for: Callable[[Session], BatchStore],
        rules: RulesHolder,
        broadcaster: AwardBroadcaster,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._runner = runner
        self._store_for = store_for
        self._rules = rules
        self._broadcaster = broadcaster
        self._clock = clock

    async def ingest(self, events: Sequence[IncomingEvent]) -> list[EventAck]:
        rules = self._rules.current

        def work(session: Session):  # noqa: ANN202 - local closure
            return process_batch(rules, events, self._store_for(session), self._clock())

        try:
            outcome = await self._runner.write(work)
        except IntegrityError:
            # Another writer (a second replica) committed one of these event ids between
            # our duplicate check and our insert; a second pass sees it as a duplicate.
            _log.info("batch raced another writer; retrying", extra={"events": len(events)})
            outcome = await self._runner.write(work)
        self._broadcaster.publish(outcome.award_changes)
        for ack in outcome.acks:
            if ack.outcome is Outcome.REJECTED:
                _log.info(
                    "event rejected",
                    extra={"event_id": ack.event_id, "reason_code": ack.reason_code},
                )
        return outcome.acks
