"""The bus-independent core: turn a batch of bus messages into badgeflow events, send
them on the SDK's batching publisher, and say what to do with each message.

A message is settled (acknowledged on the bus) only once badgeflow acknowledged its
event: ACCEPTED or DUPLICATE (stored before, e.g. by a run that crashed before it
acknowledged the bus) mean done; REJECTED, or a payload that cannot be decoded, means
dead-letter with the reason. Other event types on the topic are skipped (acknowledged).
If badgeflow cannot be reached, `forward` raises `BadgeflowUnreachable` and nothing of
the batch is settled: the bus delivers it again and badgeflow de-duplicates.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from badgeflow.v1 import event_pb2
from badgeflow_client.errors import BadgeflowError

from server.bridges.openedx import codec
from server.bridges.openedx.envelope import Envelope
from server.bridges.openedx.mapping import OpenedxUser, to_event

__all__ = [
    "BadgeflowUnreachable",
    "Delivery",
    "Disposition",
    "Forwarder",
    "Outcome",
    "Tally",
]

_LOG = logging.getLogger("badgeflow.bridge.openedx")


class BadgeflowUnreachable(RuntimeError):
    """badgeflow did not acknowledge the batch; nothing of it may be settled."""


class Disposition(enum.Enum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True)
class Delivery:
    """One message as the bus delivered it: `ref` is the bus's handle (a stream entry id,
    a Kafka message), `envelope` what could be read of it, else `error` says why not.
    `writer_schema` is the registered schema of a Kafka value, None on Redis."""

    ref: Any
    envelope: Envelope | None
    error: str = ""
    writer_schema: Any = None


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery
    disposition: Disposition
    reason: str = ""


@dataclass
class Tally:
    """Running counts, logged with every batch and at exit."""

    counts: dict[str, int] = field(default_factory=lambda: {d.value: 0 for d in Disposition})

    def add(self, outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            self.counts[outcome.disposition.value] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class Publisher(Protocol):
    """What the forwarder needs of `AsyncEventPublisher`."""

    async def publish(self, event: event_pb2.Event) -> asyncio.Future[event_pb2.EventResult]: ...


UserSink = Callable[[Sequence[OpenedxUser]], Awaitable[None]]
"""Records the learners of a batch (for publishing awards back) before it is sent."""


async def _no_users(users: Sequence[OpenedxUser]) -> None:
    return None


_RESULTS = {
    event_pb2.EVENT_OUTCOME_ACCEPTED: Disposition.ACCEPTED,
    event_pb2.EVENT_OUTCOME_DUPLICATE: Disposition.DUPLICATE,
}


class Forwarder:
    """Sends the events of a batch and reports one `Outcome` per delivery, in order."""

    def __init__(self, publisher: Publisher, remember_users: UserSink = _no_users) -> None:
        self._publisher = publisher
        self._remember_users = remember_users

    async def forward(self, deliveries: Sequence[Delivery]) -> list[Outcome]:
        prepared = [self._prepare(d) for d in deliveries]
        users = [item[1] for item in prepared if isinstance(item, tuple)]
        await self._remember_users(users)
        sent: list[tuple[Delivery, asyncio.Future[event_pb2.EventResult]]] = []
        for delivery, item in zip(deliveries, prepared, strict=True):
            if isinstance(item, tuple):
                sent.append((delivery, await self._publisher.publish(item[0])))
        results = await self._results(sent)
        return [
            results[id(d)] if isinstance(item, tuple) else item
            for d, item in zip(deliveries, prepared, strict=True)
        ]

    def _prepare(self, delivery: Delivery) -> Outcome | tuple[event_pb2.Event, OpenedxUser]:
        envelope = delivery.envelope
        if envelope is None:
            return Outcome(delivery, Disposition.DEAD_LETTER, delivery.error)
        if envelope.type not in codec.CONSUMED_TYPES:
            return Outcome(delivery, Disposition.SKIPPED, f"event type {envelope.type!r}")
        try:
            record = codec.decode(envelope.type, envelope.data, delivery.writer_schema)
            event = to_event(envelope, record)
        except codec.DecodeError as exc:
            return Outcome(delivery, Disposition.DEAD_LETTER, str(exc))
        user = OpenedxUser.from_record(record["course_passing_status"]["user"])
        return event, user

    async def _results(
        self, sent: list[tuple[Delivery, asyncio.Future[event_pb2.EventResult]]]
    ) -> dict[int, Outcome]:
        outcomes: dict[int, Outcome] = {}
        for delivery, future in sent:
            try:
                result = await future
            except BadgeflowError as exc:
                raise BadgeflowUnreachable(f"badgeflow did not acknowledge: {exc}") from exc
            outcomes[id(delivery)] = _outcome(delivery, result)
        return outcomes


def _outcome(delivery: Delivery, result: event_pb2.EventResult) -> Outcome:
    disposition = _RESULTS.get(result.outcome)
    if disposition is not None:
        return Outcome(delivery, disposition)
    return Outcome(
        delivery,
        Disposition.DEAD_LETTER,
        f"badgeflow rejected the event: {result.reason_code}: {result.reason}",
    )
