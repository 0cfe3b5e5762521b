"""The event-log retention sweep: at start and then hourly, events older than the
retention are deleted, a bounded chunk per writer transaction so ingest never waits long.

The log is also the idempotency record, so an event id older than the retention is
accepted again if it is sent again, and a backfill replays only the events still kept."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from server.ingest import utcnow
from server.store.retention import delete_events_received_before
from server.transactions import TransactionRunner

__all__ = ["DEFAULT_SWEEP_INTERVAL", "DELETE_CHUNK", "RetentionSweeper", "sweep_events"]

_log = logging.getLogger("badgeflow.retention")

DEFAULT_SWEEP_INTERVAL = 3600.0
DELETE_CHUNK = 5000


async def sweep_events(
    runner: TransactionRunner, retention_days: int, now: datetime, chunk: int = DELETE_CHUNK
) -> int:
    """Delete every event received more than `retention_days` before `now`; returns how
    many. 0 days keeps everything."""
    if retention_days <= 0:
        return 0
    cutoff = now - timedelta(days=retention_days)
    work = functools.partial(delete_events_received_before, cutoff=cutoff, limit=chunk)
    total = 0
    while True:
        deleted = await runner.write(work)
        total += deleted
        if deleted < chunk:
            break
    _log.info(
        "event log swept",
        extra={"deleted": total, "cutoff": cutoff.isoformat(), "retention_days": retention_days},
    )
    return total


class RetentionSweeper:
    """Runs `sweep_events` at start and every `interval` seconds until stopped."""

    def __init__(
        self,
        runner: TransactionRunner,
        retention_days: int,
        interval: float = DEFAULT_SWEEP_INTERVAL,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._runner = runner
        self._days = retention_days
        self._interval = interval
        self._clock = clock
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> RetentionSweeper:
        if self._days > 0:
            self._task = asyncio.create_task(self._run(), name="event-retention")
        return self

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        """Sweep, then wait for the interval or the stop; the first sweep always runs."""
        while True:
            try:
                await sweep_events(self._runner, self._days, self._clock())
            except Exception:  # noqa: BLE001 - logged; the next sweep tries again
                _log.exception("event log sweep failed; trying again at the next interval")
            try:
                await asyncio.wait_for(self._stop.wait(), self._interval)
                return
            except TimeoutError:
                pass
