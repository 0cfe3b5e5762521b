"""Consume the Open edX topic from Redis Streams, with the guarantees upstream lacks.

- The bridge has its own consumer group, created once (from `start_id`, by default the
  whole retained stream); a restart never moves it, so entries written while the bridge
  was down are read when it comes back.
- On start it first re-reads its own pending entries (delivered to this consumer name,
  never acknowledged: the run before crashed), then claims entries left pending longer
  than `claim_idle_ms` by other consumers of the group (a dead replica), and claims
  again every `claim_idle_ms` while it runs.
- An entry is acknowledged only after badgeflow acknowledged its event. A dead-letter
  entry (undecodable, or rejected by badgeflow) is written to the dead-letter stream
  with the reason in the same transaction as the acknowledgement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from server.bridges.openedx.envelope import MalformedMessage, from_redis_fields
from server.bridges.openedx.forwarding import (
    BadgeflowUnreachable,
    Delivery,
    Disposition,
    Forwarder,
    Outcome,
    Tally,
)

__all__ = ["RedisStreamBridge", "StreamPosition"]

_LOG = logging.getLogger("badgeflow.bridge.openedx")
DEFAULT_BATCH = 500
DEFAULT_BLOCK_MS = 1000
DEFAULT_CLAIM_IDLE_MS = 60_000
RETRY_BACKOFF_INITIAL = 0.5
RETRY_BACKOFF_MAX = 15.0


@dataclass(frozen=True)
class StreamPosition:
    """Where the bridge reads: the stream key, its group and its own consumer name."""

    stream: str
    group: str
    consumer: str
    dead_letter_stream: str
    start_id: str = "0"


def _entry_id(raw: bytes | str) -> tuple[int, int]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    millis, _, sequence = text.partition("-")
    return int(millis), int(sequence or 0)


def _delivery(position: StreamPosition, entry_id: bytes, fields: Any) -> Delivery:
    ref = entry_id.decode()
    if not fields:
        return Delivery(ref, None, "the entry was trimmed from the stream before it was read")
    try:
        return Delivery(ref, from_redis_fields(fields, f"{position.stream}/{ref}"))
    except MalformedMessage as exc:
        return Delivery(ref, None, str(exc))


class RedisStreamBridge:
    """Reads a stream through its consumer group and forwards it to badgeflow."""

    def __init__(
        self,
        redis: aioredis.Redis,
        position: StreamPosition,
        forwarder: Forwarder,
        *,
        batch: int = DEFAULT_BATCH,
        block_ms: int = DEFAULT_BLOCK_MS,
        claim_idle_ms: int = DEFAULT_CLAIM_IDLE_MS,
    ) -> None:
        self._redis = redis
        self.position = position
        self._forwarder = forwarder
        self._batch = batch
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self.tally = Tally()
        self._raw_fields: dict[str, dict[bytes, bytes]] = {}

    # -- reading -------------------------------------------------------------------

    async def ensure_group(self) -> bool:
        """Create the group if it does not exist; True when it was created."""
        p = self.position
        try:
            await self._redis.xgroup_create(p.stream, p.group, id=p.start_id, mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
            return False
        return True

    async def behind_the_stream(self) -> str:
        """The stream's oldest entry id when it is newer than the group's position: the
        producers' `MAXLEN` trimmed entries the group may not have read (Redis keeps no
        exact count). Empty when the group's position is inside the stream."""
        p = self.position
        stream = await self._redis.xinfo_stream(p.stream)
        first = stream.get("first-entry")
        groups = await self._redis.xinfo_groups(p.stream)
        group = next(g for g in groups if g["name"].decode() == p.group)
        position = _entry_id(group["last-delivered-id"])
        if not first or position == (0, 0) or _entry_id(first[0]) <= position:
            return ""
        return first[0].decode()

    async def _read(self, entry_id: str, block: int | None) -> list[Delivery]:
        p = self.position
        reply = await self._redis.xreadgroup(
            p.group, p.consumer, {p.stream: entry_id}, count=self._batch, block=block
        )
        entries = reply[0][1] if reply else []
        return self._deliveries(entries)

    def _deliveries(self, entries: Sequence[tuple[bytes, Any]]) -> list[Delivery]:
        self._raw_fields = {eid.decode(): fields or {} for eid, fields in entries}
        return [_delivery(self.position, eid, fields) for eid, fields in entries]

    async def read_own_pending(self) -> list[Delivery]:
        """Entries delivered to this consumer and never acknowledged (oldest first)."""
        return await self._read("0", None)

    async def read_new(self) -> list[Delivery]:
        return await self._read(">", self._block_ms)

    async def claim_stale(self) -> list[Delivery]:
        """Entries other consumers left pending for longer than `claim_idle_ms`."""
        p = self.position
        cursor: bytes | str = "0-0"
        while True:
            reply = await self._redis.xautoclaim(
                p.stream, p.group, p.consumer, self._claim_idle_ms, cursor, count=self._batch
            )
            cursor, claimed = reply[0], reply[1]
            if claimed or cursor in (b"0-0", "0-0"):
                return self._deliveries(claimed)

    # -- settling ------------------------------------------------------------------

    async def settle(self, outcomes: Sequence[Outcome]) -> None:
        """Dead-letter and acknowledge the batch in one transaction."""
        if not outcomes:
            return
        p = self.position
        pipe = self._redis.pipeline(transaction=True)
        for outcome in outcomes:
            if outcome.disposition is Disposition.DEAD_LETTER:
                pipe.xadd(p.dead_letter_stream, self._dead_letter(outcome))
        pipe.xack(p.stream, p.group, *[o.delivery.ref for o in outcomes])
        await pipe.execute()
        self.tally.add(outcomes)
        for outcome in outcomes:
            if outcome.disposition is Disposition.DEAD_LETTER:
                _LOG.warning(
                    "dead-lettered",
                    extra={"entry_id": outcome.delivery.ref, "reason": outcome.reason},
                )

    def _dead_letter(self, outcome: Outcome) -> dict[bytes, bytes]:
        ref = outcome.delivery.ref
        original = self._raw_fields.get(ref, {})
        meta = {
            b"dead_letter_reason": outcome.reason.encode(),
            b"dead_letter_entry_id": ref.encode(),
            b"dead_letter_stream": self.position.stream.encode(),
            b"dead_letter_group": self.position.group.encode(),
        }
        return {**original, **meta}

    # -- the loop ------------------------------------------------------------------

    async def process(self, deliveries: list[Delivery]) -> None:
        started = time.perf_counter()
        outcomes = await self._forwarder.forward(deliveries)
        await self.settle(outcomes)
        _LOG.info(
            "batch settled",
            extra={
                "entries": len(outcomes),
                "ms": round((time.perf_counter() - started) * 1000, 1),
                **self.tally.counts,
            },
        )

    async def _drain(self, read: Any, stop: asyncio.Event) -> None:
        while not stop.is_set():
            deliveries = await read()
            if not deliveries:
                return
            await self.process(deliveries)

    async def recover(self, stop: asyncio.Event) -> None:
        """Own pending entries first, then stale ones of dead consumers."""
        await self._drain(self.read_own_pending, stop)
        await self._drain(self.claim_stale, stop)

    async def run(self, stop: asyncio.Event) -> Tally:
        """Forward until `stop` is set; a batch in progress is finished first."""
        created = await self.ensure_group()
        _LOG.info("consumer group created" if created else "consuming", extra=self._where())
        oldest = "" if created else await self.behind_the_stream()
        if oldest:
            _LOG.warning(
                "the stream was trimmed past this group's position: entries may be lost to "
                "it; raise Open edX's EVENT_BUS_REDIS_STREAM_MAX_LEN above a downtime's backlog",
                extra={"oldest_entry": oldest, **self._where()},
            )
        backoff = RETRY_BACKOFF_INITIAL
        while not stop.is_set():
            try:
                await self._steady(stop)
            except (BadgeflowUnreachable, RedisConnectionError, RedisTimeoutError) as exc:
                _LOG.error("retrying after an error", extra={"error": str(exc), "in_s": backoff})
                await _wait(stop, backoff)
                backoff = min(backoff * 2, RETRY_BACKOFF_MAX)
                continue
            backoff = RETRY_BACKOFF_INITIAL
        _LOG.info("stopped", extra=self.tally.counts)
        return self.tally

    async def _steady(self, stop: asyncio.Event) -> None:
        await self.recover(stop)
        next_claim = time.monotonic() + self._claim_idle_ms / 1000
        while not stop.is_set():
            deliveries = await self.read_new()
            if deliveries:
                await self.process(deliveries)
            if time.monotonic() >= next_claim:
                await self._drain(self.claim_stale, stop)
                next_claim = time.monotonic() + self._claim_idle_ms / 1000

    def _where(self) -> dict[str, str]:
        p = self.position
        return {"stream": p.stream, "group": p.group, "consumer": p.consumer}


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
