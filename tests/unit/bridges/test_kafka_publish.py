"""Publishing back on Kafka, on bytes: the value under the `<topic>-<type>.CloudEvent`
subject, the key an Avro string under `<topic>-string`, the `ce_*` headers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from server.bridges.openedx import codec
from server.bridges.openedx.kafka_client import KafkaBadgeSink, avro_string
from server.bridges.openedx.mapping import OpenedxUser, TemplateInfo, badge_record, badge_uuid
from server.bridges.openedx.publish_back import award_envelope

TOPIC = "abc-learning-badges-lifecycle"


class FakeProducer:
    def __init__(self) -> None:
        self.produced: list[tuple[str, bytes, bytes, list[tuple[str, bytes]]]] = []

    def produce(self, topic: str, value: bytes, key: bytes, headers: Any) -> None:
        self.produced.append((topic, value, key, headers))

    def flush(self, timeout: float) -> int:
        return 0


def test_avro_strings_are_a_zigzag_length_then_utf8() -> None:
    assert avro_string("bob") == b"\x06bob"
    assert avro_string("x" * 64) == b"\x80\x01" + b"x" * 64


async def test_a_badge_event_is_produced_as_edx_event_bus_kafka_would() -> None:
    subjects: list[str] = []

    def registry(request: httpx.Request) -> httpx.Response:
        subjects.append(request.url.path)
        return httpx.Response(
            200, json={"id": 21 if request.url.path.endswith("-string/versions") else 20}
        )

    producer = FakeProducer()
    http = httpx.Client(base_url="http://registry", transport=httpx.MockTransport(registry))
    sink = KafkaBadgeSink(producer, TOPIC, http)
    user = OpenedxUser(42, True, "bob", "bob@x.org", "Bob B")
    record = badge_record("17", user, TemplateInfo("credly", "8f2b"))
    envelope = award_envelope(
        codec.BADGE_AWARDED,
        datetime(2026, 11, 23, 10, 0, tzinfo=UTC),
        "17:awarded:t",
        record,
        "host-1",
    )

    assert await sink.publish(envelope, "17:awarded:t", 0.0) is True
    assert await sink.publish(envelope, "17:awarded:t", 0.0) is False
    ((topic, value, key, headers),) = producer.produced
    assert topic == TOPIC
    assert value == b"\x00\x00\x00\x00\x14" + codec.encode(codec.BADGE_AWARDED, record)
    assert key == b"\x00\x00\x00\x00\x15" + avro_string(badge_uuid("17"))
    assert dict(headers)["ce_type"] == codec.BADGE_AWARDED.encode()
    assert [name for name, _ in headers] == [
        "ce_specversion", "content-type", "ce_datacontenttype", "ce_type", "ce_id",
        "ce_source", "ce_time", "ce_minorversion", "sourcehost", "sourcelib",
    ]  # fmt: skip
    assert subjects == [
        f"/subjects/{TOPIC}-{codec.BADGE_AWARDED}.CloudEvent/versions",
        f"/subjects/{TOPIC}-string/versions",
    ]
