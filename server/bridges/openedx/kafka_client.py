"""confluent-kafka behind `KafkaPort` and `BadgeSink`, and the Kafka run loop.

Only imported when Kafka is configured; confluent-kafka is the optional `kafka` extra
(`pip install -e '.[kafka]'`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import struct
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from badgeflow_client.aio import AsyncBadgeflowClient

from server.bridges.openedx import codec
from server.bridges.openedx.config import BridgeConfig
from server.bridges.openedx.envelope import Envelope, frame, to_kafka
from server.bridges.openedx.forwarding import Forwarder
from server.bridges.openedx.kafka_bus import KafkaBridge, KafkaMessage, Partition, RegistrySchemas
from server.bridges.openedx.mapping import OpenedxUser

__all__ = ["ConfluentKafkaPort", "KafkaBadgeSink", "run_kafka"]

_LOG = logging.getLogger("badgeflow.bridge.openedx")
API_KEY_ENV = "OPENEDX_KAFKA_API_KEY"
API_SECRET_ENV = "OPENEDX_KAFKA_API_SECRET"
REGISTRY_KEY_ENV = "OPENEDX_KAFKA_SCHEMA_REGISTRY_API_KEY"
REGISTRY_SECRET_ENV = "OPENEDX_KAFKA_SCHEMA_REGISTRY_API_SECRET"


def _confluent() -> Any:
    from server.bridges.openedx.runner import BridgeStartError

    try:
        import confluent_kafka
    except ImportError as exc:
        raise BridgeStartError(
            "Kafka needs confluent-kafka: pip install -e '.[kafka]' (the optional extra)"
        ) from exc
    return confluent_kafka


def client_config(config: BridgeConfig) -> dict[str, Any]:
    """librdkafka settings, as edx-event-bus-kafka sets them (plus SASL when keyed)."""
    settings: dict[str, Any] = {"bootstrap.servers": config.kafka_bootstrap_servers}
    key, secret = os.environ.get(API_KEY_ENV, ""), os.environ.get(API_SECRET_ENV, "")
    if key and secret:
        settings |= {
            "sasl.mechanism": "PLAIN",
            "security.protocol": "SASL_SSL",
            "sasl.username": key,
            "sasl.password": secret,
        }
    return settings


class ConfluentKafkaPort:
    """`KafkaPort` over a confluent-kafka Consumer (manual commits) and Producer."""

    def __init__(self, config: BridgeConfig) -> None:
        kafka = _confluent()
        self._kafka = kafka
        base = client_config(config)
        self._consumer = kafka.Consumer(
            base
            | {
                "group.id": config.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest" if config.start == "all" else "latest",
            }
        )
        self._consumer.subscribe([config.stream])
        self._producer = kafka.Producer(base)
        self._dead_letter_topic = config.dead_letter_stream

    def poll(self, max_messages: int, timeout: float) -> list[KafkaMessage]:
        polled = self._consumer.consume(max_messages, timeout)
        messages = []
        for m in polled:
            if m.error() is not None:
                if m.error().fatal():
                    raise self._kafka.KafkaException(m.error())
                _LOG.warning("kafka error", extra={"error": str(m.error())})
                continue
            headers = tuple(m.headers() or ())
            messages.append(
                KafkaMessage(m.topic(), m.partition(), m.offset(), m.value(), headers, m.key())
            )
        return messages

    def _partitions(self, offsets: Mapping[Partition, int]) -> list[Any]:
        return [self._kafka.TopicPartition(t, p, o) for (t, p), o in offsets.items()]

    def commit(self, offsets: Mapping[Partition, int]) -> None:
        self._consumer.commit(offsets=self._partitions(offsets), asynchronous=False)

    def rewind(self, offsets: Mapping[Partition, int]) -> None:
        for partition in self._partitions(offsets):
            self._consumer.seek(partition)

    def dead_letter(self, message: KafkaMessage, reason: str) -> None:
        headers = [*message.headers, ("dead_letter_reason", reason.encode())]
        headers.append(
            ("dead_letter_origin", f"{message.topic}/{message.partition}/{message.offset}".encode())
        )
        self._producer.produce(self._dead_letter_topic, message.value, message.key, headers=headers)
        self._producer.flush(30)

    def close(self) -> None:
        self._producer.flush(30)
        self._consumer.close()


class KafkaBadgeSink:
    """Produces badge events as edx-event-bus-kafka does: the value Confluent-framed
    under subject `<topic>-<namespace>.CloudEvent`, the key (`badge.uuid`) an Avro
    string under `<topic>-string`, the `ce_*` headers. At least once: a change is
    produced again after a restart that did not record it (consumers de-duplicate by
    `ce_id`, which is stable per change)."""

    def __init__(self, producer: Any, topic: str, registry: httpx.Client) -> None:
        self._producer = producer
        self._topic = topic
        self._registry = registry
        self._ids: dict[str, int] = {}
        self._seen: set[str] = set()

    def _schema_id(self, subject: str, schema: Any) -> int:
        if subject not in self._ids:
            body = {"schema": json.dumps(schema, sort_keys=True)}
            response = self._registry.post(f"/subjects/{subject}/versions", json=body)
            response.raise_for_status()
            self._ids[subject] = int(response.json()["id"])
        return self._ids[subject]

    async def publish(self, envelope: Envelope, key: str, score: float) -> bool:
        if key in self._seen:
            return False
        await asyncio.to_thread(self._produce, envelope)
        self._seen.add(key)
        return True

    def _produce(self, envelope: Envelope) -> None:
        value_id = self._schema_id(
            f"{self._topic}-{envelope.type}.CloudEvent", _schema_json(envelope.type)
        )
        key_id = self._schema_id(f"{self._topic}-string", "string")
        badge_uuid = codec.decode(envelope.type, envelope.data)["badge"]["uuid"]
        headers, value = to_kafka(envelope, value_id)
        self._producer.produce(
            self._topic, value, frame(key_id, avro_string(badge_uuid)), headers=headers
        )
        self._producer.flush(30)


def avro_string(text: str) -> bytes:
    """An Avro string: zig-zag varint length, then UTF-8."""
    raw = text.encode()
    n, out = len(raw) << 1, bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(out) + struct.pack("B", n) + raw


def _schema_json(event_type: str) -> Any:
    from importlib import resources

    text = resources.files(__package__).joinpath("schemas").joinpath(f"{event_type}.avsc")
    return json.loads(text.read_text())


class MemoryUsers:
    """The learners seen by this process (Kafka has no place for the bridge's state)."""

    def __init__(self) -> None:
        self._users: dict[str, OpenedxUser] = {}

    async def remember(self, users: list[OpenedxUser]) -> None:
        self._users.update({str(u.id): u for u in users})

    async def get(self, learner_id: str) -> OpenedxUser | None:
        return self._users.get(learner_id)

    async def learner_ids(self) -> Any:
        for learner_id in list(self._users):
            yield learner_id


async def run_kafka(
    config: BridgeConfig, stop: asyncio.Event, client: AsyncBadgeflowClient
) -> None:
    from server.bridges.openedx.publish_back import AwardAnnouncer
    from server.bridges.openedx.runner import close_publisher

    auth = _registry_auth()
    schemas = RegistrySchemas(config.schema_registry_url, auth)
    registry = httpx.Client(base_url=config.schema_registry_url, auth=auth, timeout=10.0)
    port = await asyncio.to_thread(ConfluentKafkaPort, config)
    users = MemoryUsers()
    publisher = client.publisher(batch_size=config.batch_size)
    bridge = KafkaBridge(
        port, Forwarder(publisher, users.remember), schemas.writer_schema, batch=config.batch_size
    )
    _LOG.info("bridge started", extra={"server": config.server, "topic": config.stream})
    try:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(bridge.run(stop))
            if config.publish_back:
                sink = KafkaBadgeSink(port._producer, config.stream, registry)
                announcer = AwardAnnouncer(client, sink, users, datetime.now(UTC))
                tasks.create_task(announcer.run(stop))
    finally:
        await close_publisher(publisher)
        await asyncio.to_thread(port.close)


def _registry_auth() -> tuple[str, str] | None:
    key, secret = os.environ.get(REGISTRY_KEY_ENV, ""), os.environ.get(REGISTRY_SECRET_ENV, "")
    return (key, secret) if key and secret else None
