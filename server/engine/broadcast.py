"""Fan-out of committed award changes to `WatchAwards` subscribers in this process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from server.engine.awarding import AwardChange

__all__ = ["AwardBroadcaster", "SubscriberTooSlow", "Subscription"]

_log = logging.getLogger("badgeflow.awards")
DEFAULT_QUEUE_SIZE = 10_000


class SubscriberTooSlow(Exception):
    """The subscriber fell so far behind that changes had to be dropped for it."""


@dataclass(frozen=True, slots=True)
class _Filter:
    learner_id: str
    template_id: str

    def wants(self, change: AwardChange) -> bool:
        a = change.award
        return (not self.learner_id or a.learner_id == self.learner_id) and (
            not self.template_id or a.template_id == self.template_id
        )


class Subscription:
    """Registered from creation on, so a caller can confirm the subscription (send
    initial metadata) before anything it wants to see is published."""

    def __init__(self, owner: AwardBroadcaster, wanted: _Filter, size: int) -> None:
        self._owner = owner
        self.wanted = wanted
        self.queue: asyncio.Queue[AwardChange | None] = asyncio.Queue(maxsize=size)
        self.overflowed = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> AwardChange:
        if self.overflowed and self.queue.empty():
            self.close()
            raise SubscriberTooSlow()
        change = await self.queue.get()
        if change is None:
            self.close()
            raise StopAsyncIteration
        return change

    def close(self) -> None:
        self._owner._subscriptions.discard(self)


class AwardBroadcaster:
    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._subscriptions: set[Subscription] = set()
        self._queue_size = queue_size

    def publish(self, changes: Iterable[AwardChange]) -> None:
        """Called on the event loop after the changes were committed."""
        for change in changes:
            for sub in list(self._subscriptions):
                if sub.overflowed or not sub.wanted.wants(change):
                    continue
                try:
                    sub.queue.put_nowait(change)
                except asyncio.QueueFull:
                    sub.overflowed = True
                    _log.warning("award subscriber too slow; closing its stream")

    def close(self) -> None:
        """End every subscription (server shutdown)."""
        for sub in self._subscriptions:
            while True:
                try:
                    sub.queue.put_nowait(None)
                    break
                except asyncio.QueueFull:
                    sub.queue.get_nowait()

    def subscribe(self, learner_id: str = "", template_id: str = "") -> Subscription:
        sub = Subscription(self, _Filter(learner_id, template_id), self._queue_size)
        self._subscriptions.add(sub)
        return sub

    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)
