"""Consume the Open edX topic from Kafka (edx-event-bus-kafka's wire format).

Values are Confluent-framed Avro (magic byte 0, a 4-byte big-endian schema id, then the
same Avro body as on Redis); metadata travels in `ce_*` headers. The writer schema is
fetched from the schema registry by id (cached) and resolved to the shipped schema.

Offsets are committed only after badgeflow acknowledged every event of the polled batch
(dead-letter messages are produced to the dead-letter topic first). When badgeflow
cannot be reached the consumer seeks back to the first uncommitted offset of each
partition and the batch is read again; badgeflow de-duplicates by the `ce_id` header.

The bus-facing side is the small `KafkaPort`, so the decode and commit logic is tested
on recorded wire bytes without a broker; `ConfluentKafkaPort` implements it with
confluent-kafka (the optional `kafka` extra, imported only when Kafka is configured).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from server.bridges.openedx import codec
from server.bridges.openedx.envelope import MalformedMessage, from_kafka
from server.bridges.openedx.forwarding import (
    BadgeflowUnreachable,
    Delivery,
    Disposition,
    Forwarder,
    Outcome,
    Tally,
)

__all__ = [
    "KafkaBridge",
    "KafkaMessage",
    "KafkaPort",
    "RegistrySchemas",
    "SchemaUnavailable",
    "next_offsets",
]

_LOG = logging.getLogger("badgeflow.bridge.openedx")
DEFAULT_POLL_TIMEOUT = 1.0
RETRY_BACKOFF_INITIAL = 0.5
RETRY_BACKOFF_MAX = 15.0

Partition = tuple[str, int]


@dataclass(frozen=True)
class KafkaMessage:
    """One polled message, as the port hands it over."""

    topic: str
    partition: int
    offset: int
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()
    key: bytes | None = None


class KafkaPort(Protocol):
    """What the bridge needs of a Kafka client."""

    def poll(self, max_messages: int, timeout: float) -> list[KafkaMessage]: ...

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Commit, synchronously, the next offset to read per partition."""

    def rewind(self, offsets: Mapping[Partition, int]) -> None:
        """Seek each partition back to the given offset."""

    def dead_letter(self, message: KafkaMessage, reason: str) -> None:
        """Produce `message` to the dead-letter topic with the reason, and flush."""


class SchemaUnavailable(RuntimeError):
    """The schema registry could not be asked; the batch is read again later."""


class RegistrySchemas:
    """Writer schemas by id from a Confluent schema registry (`GET /schemas/ids/{id}`),
    cached: a registered schema never changes."""

    def __init__(self, url: str, auth: tuple[str, str] | None = None, *, http: Any = None):
        self._http = http or httpx.Client(base_url=url, auth=auth, timeout=10.0)
        self._cache: dict[int, Any] = {}

    def writer_schema(self, schema_id: int) -> Any:
        """The parsed schema; `codec.DecodeError` if the registry does not know the id."""
        if schema_id not in self._cache:
            self._cache[schema_id] = codec.parse_writer_schema(self._fetch(schema_id))
        return self._cache[schema_id]

    def _fetch(self, schema_id: int) -> str:
        try:
            response = self._http.get(f"/schemas/ids/{schema_id}")
        except httpx.HTTPError as exc:
            raise SchemaUnavailable(f"the schema registry is unreachable: {exc}") from exc
        if response.status_code == 404:
            raise codec.DecodeError(f"the schema registry has no schema {schema_id}")
        if response.status_code != 200:
            raise SchemaUnavailable(f"the schema registry answered {response.status_code}")
        return str(response.json()["schema"])


def next_offsets(messages: Sequence[KafkaMessage]) -> dict[Partition, int]:
    """The offset to commit per partition: one past the last message read."""
    offsets: dict[Partition, int] = {}
    for m in messages:
        key = (m.topic, m.partition)
        offsets[key] = max(offsets.get(key, 0), m.offset + 1)
    return offsets


def first_offsets(messages: Sequence[KafkaMessage]) -> dict[Partition, int]:
    offsets: dict[Partition, int] = {}
    for m in messages:
        key = (m.topic, m.partition)
        offsets[key] = min(offsets.get(key, m.offset), m.offset)
    return offsets


class KafkaBridge:
    """Polls batches from a `KafkaPort` and forwards them to badgeflow."""

    def __init__(
        self,
        port: KafkaPort,
        forwarder: Forwarder,
        schemas: Callable[[int], Any],
        *,
        batch: int = 500,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
    ) -> None:
        self._port = port
        self._forwarder = forwarder
        self._schemas = schemas
        self._batch = batch
        self._poll_timeout = poll_timeout
        self.tally = Tally()

    def _delivery(self, message: KafkaMessage) -> Delivery:
        try:
            schema_id, envelope = from_kafka(message.headers, message.value or b"")
        except MalformedMessage as exc:
            return Delivery(message, None, str(exc))
        if envelope.type not in codec.CONSUMED_TYPES:
            return Delivery(message, envelope)
        try:
            return Delivery(message, envelope, writer_schema=self._schemas(schema_id))
        except codec.DecodeError as exc:
            return Delivery(message, None, str(exc))

    async def step(self) -> int:
        """Poll one batch, forward it, dead-letter and commit; returns its size."""
        messages = await asyncio.to_thread(self._port.poll, self._batch, self._poll_timeout)
        if not messages:
            return 0
        started = time.perf_counter()
        try:
            outcomes = await self._forwarder.forward([self._delivery(m) for m in messages])
        except (BadgeflowUnreachable, SchemaUnavailable):
            await asyncio.to_thread(self._port.rewind, first_offsets(messages))
            raise
        await asyncio.to_thread(self._settle, messages, outcomes)
        _LOG.info(
            "batch settled",
            extra={
                "entries": len(outcomes),
                "ms": round((time.perf_counter() - started) * 1000, 1),
                **self.tally.counts,
            },
        )
        return len(messages)

    def _settle(self, messages: Sequence[KafkaMessage], outcomes: Sequence[Outcome]) -> None:
        for outcome in outcomes:
            if outcome.disposition is Disposition.DEAD_LETTER:
                self._port.dead_letter(outcome.delivery.ref, outcome.reason)
                _LOG.warning(
                    "dead-lettered",
                    extra={"offset": outcome.delivery.ref.offset, "reason": outcome.reason},
                )
        self._port.commit(next_offsets(messages))
        self.tally.add(outcomes)

    async def run(self, stop: asyncio.Event) -> Tally:
        """Forward until `stop` is set; a batch in progress is finished first."""
        backoff = RETRY_BACKOFF_INITIAL
        while not stop.is_set():
            try:
                await self.step()
            except (BadgeflowUnreachable, SchemaUnavailable) as exc:
                _LOG.error("retrying after an error", extra={"error": str(exc), "in_s": backoff})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, RETRY_BACKOFF_MAX)
                continue
            backoff = RETRY_BACKOFF_INITIAL
        _LOG.info("stopped", extra=self.tally.counts)
        return self.tally
