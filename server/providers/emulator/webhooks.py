"""Credly's webhook sender: each event is POSTed (thin body) to its organisation's
webhook URL in the background, best effort, with no automatic retry; tests re-send,
duplicate and wait for deliveries through this object."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from .credly_store import CredlyEvent

DEFAULT_WEBHOOK_TIMEOUT = 5.0

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Delivery:
    event_id: str
    url: str
    status: int | None  # the receiver's HTTP status; None when it could not be reached
    error: str = ""


class WebhookSender:
    def __init__(self, url_for: Callable[[str], str | None]) -> None:
        self._url_for = url_for
        self._tasks: set[asyncio.Task[None]] = set()
        self.deliveries: list[Delivery] = []
        self.send_twice = False  # deliver every event two times (at-least-once testing)
        self.paused = False  # record events but send nothing until `resend`
        self.timeout = DEFAULT_WEBHOOK_TIMEOUT

    def notify(self, event: CredlyEvent) -> None:
        """Called by the store for each new event."""
        if not self.paused:
            for _ in range(2 if self.send_twice else 1):
                self.resend(event)

    def resend(self, event: CredlyEvent) -> None:
        """Send (again) one event to its organisation's current webhook URL."""
        url = self._url_for(event.organization_id)
        if not url:
            return
        try:
            task = asyncio.get_running_loop().create_task(self._deliver(url, event))
        except RuntimeError:
            self.deliveries.append(Delivery(event.id, url, None, "no running event loop"))
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every delivery started so far has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks))

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, url: str, event: CredlyEvent) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(url, json=event.notification())
        except httpx.HTTPError as exc:
            _log.info("webhook %s to %s failed: %s", event.id, url, type(exc).__name__)
            self.deliveries.append(Delivery(event.id, url, None, type(exc).__name__))
            return
        self.deliveries.append(Delivery(event.id, url, response.status_code))
