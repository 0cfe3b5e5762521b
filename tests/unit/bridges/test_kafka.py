"""The Kafka path on recorded wire bytes (no broker): Confluent-framed values and `ce_*`
headers built from the documented layout; offsets committed only after badgeflow's
acks; a failed batch rewound, not committed; writer schemas from the registry."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx
import pytest
from badgeflow_client.errors import Unavailable

from server.bridges.openedx import codec
from server.bridges.openedx.forwarding import BadgeflowUnreachable, Forwarder
from server.bridges.openedx.kafka_bus import (
    KafkaBridge,
    KafkaMessage,
    RegistrySchemas,
    SchemaUnavailable,
)
from tests.unit.bridges.conftest import PASSING_BYTES, ScriptedPublisher

TOPIC = "abc-learning-badges-lifecycle"
SCHEMA_ID = 7
SHIPPED = (
    Path(codec.__file__).parent / "schemas" / f"{codec.PASSING_STATUS_UPDATED}.avsc"
).read_text()


def recorded(
    offset: int,
    event_type: str = codec.PASSING_STATUS_UPDATED,
    value: bytes | None = None,
    partition: int = 0,
) -> KafkaMessage:
    """A message as edx-event-bus-kafka produces it (headers in its order)."""
    headers = (
        ("ce_specversion", b"1.0"),
        ("content-type", b"application/avro"),
        ("ce_datacontenttype", b"application/avro"),
        ("ce_type", event_type.encode()),
        ("ce_id", f"9d7c1c2e-c9a1-11f0-8de9-{offset:012d}".encode()),
        ("ce_source", b"openedx/lms/web"),
        ("ce_time", b"2026-11-23T09:57:44.006525+00:00"),
        ("ce_minorversion", b"0"),
        ("sourcehost", b"lms-1"),
        ("sourcelib", b"11.2.0"),
    )
    framed = b"\x00" + SCHEMA_ID.to_bytes(4, "big") + PASSING_BYTES
    return KafkaMessage(TOPIC, partition, offset, framed if value is None else value, headers)


class FakePort:
    """A `KafkaPort` that hands out recorded batches and records what the bridge did."""

    def __init__(self, *batches: list[KafkaMessage]) -> None:
        self.batches = list(batches)
        self.calls: list[tuple[str, object]] = []

    def poll(self, max_messages: int, timeout: float) -> list[KafkaMessage]:
        return self.batches.pop(0) if self.batches else []

    def commit(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.calls.append(("commit", dict(offsets)))

    def rewind(self, offsets: Mapping[tuple[str, int], int]) -> None:
        self.calls.append(("rewind", dict(offsets)))

    def dead_letter(self, message: KafkaMessage, reason: str) -> None:
        self.calls.append(("dead_letter", (message.offset, reason)))


def writer_schemas(schema_id: int) -> object:
    if schema_id != SCHEMA_ID:
        raise codec.DecodeError(f"the schema registry has no schema {schema_id}")
    return codec.parse_writer_schema(SHIPPED)


def bridge(port: FakePort, publisher: ScriptedPublisher) -> KafkaBridge:
    return KafkaBridge(port, Forwarder(publisher), writer_schemas, batch=100)


async def test_offsets_are_committed_after_badgeflow_acked_the_batch(
    accepting: ScriptedPublisher,
) -> None:
    port = FakePort(
        [
            recorded(10),
            recorded(11),
            recorded(12, codec.BADGE_AWARDED, b"\x00\x00\x00\x00\x09x"),
            recorded(3, partition=1),
        ]
    )
    k = bridge(port, accepting)
    assert await k.step() == 4
    assert port.calls == [("commit", {(TOPIC, 0): 13, (TOPIC, 1): 4})]
    assert [e.id for e in accepting.events] == [
        "9d7c1c2e-c9a1-11f0-8de9-000000000010",
        "9d7c1c2e-c9a1-11f0-8de9-000000000011",
        "9d7c1c2e-c9a1-11f0-8de9-000000000003",
    ]
    assert accepting.events[0].learner.id == "42"
    assert k.tally.counts == {"accepted": 3, "duplicate": 0, "skipped": 1, "dead_letter": 0}


async def test_an_unacknowledged_batch_is_rewound_and_not_committed() -> None:
    port = FakePort([recorded(10), recorded(11)])
    unavailable = ScriptedPublisher(lambda e: Unavailable("badgeflow is restarting"))
    with pytest.raises(BadgeflowUnreachable):
        await bridge(port, unavailable).step()
    assert port.calls == [("rewind", {(TOPIC, 0): 10})]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        pytest.param(
            recorded(20, value=b"\x01" + bytes(4) + PASSING_BYTES),
            "the value starts with magic byte 1, not 0 (Confluent)",
            id="magic",
        ),
        pytest.param(
            recorded(20, value=b"\x00\x00\x00\x00\x08" + PASSING_BYTES),
            "the schema registry has no schema 8",
            id="unknown-schema",
        ),
        pytest.param(
            recorded(20, value=b"\x00\x00\x00\x00\x07" + PASSING_BYTES[:5]),
            f"not a {codec.PASSING_STATUS_UPDATED} Avro payload: the bytes end inside the record",
            id="cut-short",
        ),
    ],
)
async def test_an_unusable_message_is_dead_lettered_and_committed(
    message: KafkaMessage, reason: str, accepting: ScriptedPublisher
) -> None:
    port = FakePort([message, recorded(21)])
    await bridge(port, accepting).step()
    assert port.calls == [("dead_letter", (20, reason)), ("commit", {(TOPIC, 0): 22})]


def registry(status: int, requests: list[str]) -> RegistrySchemas:
    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        return httpx.Response(status, json={"schema": SHIPPED} if status == 200 else {})

    client = httpx.Client(base_url="http://registry", transport=httpx.MockTransport(answer))
    return RegistrySchemas("http://registry", http=client)


def test_writer_schemas_come_from_the_registry_once_per_id() -> None:
    requests: list[str] = []
    schemas = registry(200, requests)
    first, again = schemas.writer_schema(7), schemas.writer_schema(7)
    assert first is again
    assert requests == ["/schemas/ids/7"]
    assert (
        codec.decode(codec.PASSING_STATUS_UPDATED, PASSING_BYTES, first)["course_passing_status"][
            "is_passing"
        ]
        is True
    )


@pytest.mark.parametrize(
    ("status", "error", "message"),
    [
        pytest.param(404, codec.DecodeError, "the schema registry has no schema 7", id="unknown"),
        pytest.param(503, SchemaUnavailable, "the schema registry answered 503", id="down"),
    ],
)
def test_registry_failures_say_whether_to_retry(
    status: int, error: type[Exception], message: str
) -> None:
    with pytest.raises(error) as caught:
        registry(status, []).writer_schema(7)
    assert str(caught.value) == message
