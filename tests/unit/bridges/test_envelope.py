"""The two wire forms of the metadata: Redis entry fields and Kafka headers with the
Confluent frame, in the documented layout."""

from __future__ import annotations

import pytest

from server.bridges.openedx.envelope import (
    Envelope,
    MalformedMessage,
    from_kafka,
    from_redis_fields,
    to_kafka,
    to_redis_fields,
)
from tests.unit.bridges.conftest import PASSING_BYTES

TYPE = "org.openedx.learning.course.passing.status.updated.v1"
EVENT_ID = "3f1c2a10-c9a1-11f0-8de9-0242ac120002"
ENVELOPE = Envelope(
    type=TYPE,
    id=EVENT_ID,
    data=PASSING_BYTES,
    source="openedx/lms/web",
    time="2026-11-23T09:57:44.006525+00:00",
    minorversion="0",
    sourcehost="lms-1",
    sourcelib="11.2.0",
)
REDIS_FIELDS = {
    b"type": TYPE.encode(),
    b"id": EVENT_ID.encode(),
    b"source": b"openedx/lms/web",
    b"time": b"2026-11-23T09:57:44.006525+00:00",
    b"minorversion": b"0",
    b"sourcehost": b"lms-1",
    b"sourcelib": b"11.2.0",
    b"event_data": PASSING_BYTES,
}
KAFKA_HEADERS = [
    ("ce_specversion", b"1.0"),
    ("content-type", b"application/avro"),
    ("ce_datacontenttype", b"application/avro"),
    ("ce_type", TYPE.encode()),
    ("ce_id", EVENT_ID.encode()),
    ("ce_source", b"openedx/lms/web"),
    ("ce_time", b"2026-11-23T09:57:44.006525+00:00"),
    ("ce_minorversion", b"0"),
    ("sourcehost", b"lms-1"),
    ("sourcelib", b"11.2.0"),
]
KAFKA_VALUE = b"\x00\x00\x00\x00\x07" + PASSING_BYTES


def test_a_redis_entry_reads_and_writes_in_the_documented_order() -> None:
    assert from_redis_fields(REDIS_FIELDS, "fallback") == ENVELOPE
    written = to_redis_fields(ENVELOPE)
    assert [k.encode() for k in written] == list(REDIS_FIELDS)
    assert list(written.values()) == list(REDIS_FIELDS.values())


def test_a_redis_entry_without_id_gets_the_stable_fallback() -> None:
    fields = {k: v for k, v in REDIS_FIELDS.items() if k != b"id"}
    assert from_redis_fields(fields, "s/1-0").id == "s/1-0"


@pytest.mark.parametrize(
    ("drop", "message"),
    [
        pytest.param(b"event_data", "the entry has no 'event_data' field", id="no-data"),
        pytest.param(b"type", "the entry has no 'type' field", id="no-type"),
    ],
)
def test_an_unusable_redis_entry_says_why(drop: bytes, message: str) -> None:
    fields = {k: v for k, v in REDIS_FIELDS.items() if k != drop}
    with pytest.raises(MalformedMessage, match=f"^{message}$"):
        from_redis_fields(fields, "s/1-0")


def test_a_kafka_message_reads_and_writes_as_edx_event_bus_kafka() -> None:
    assert from_kafka(KAFKA_HEADERS, KAFKA_VALUE) == (7, ENVELOPE)
    assert to_kafka(ENVELOPE, 7) == (KAFKA_HEADERS, KAFKA_VALUE)


@pytest.mark.parametrize(
    ("headers", "value", "message"),
    [
        pytest.param(
            KAFKA_HEADERS,
            b"\x01" + KAFKA_VALUE[1:],
            "the value starts with magic byte 1, not 0 (Confluent)",
            id="magic",
        ),
        pytest.param(
            KAFKA_HEADERS,
            b"\x00\x00\x07",
            "the value has 3 bytes, fewer than a Confluent frame",
            id="short",
        ),
        pytest.param(
            [h for h in KAFKA_HEADERS if h[0] != "ce_id"],
            KAFKA_VALUE,
            "the message has no 'ce_id' header",
            id="no-id",
        ),
        pytest.param(
            [h for h in KAFKA_HEADERS if h[0] != "ce_type"],
            KAFKA_VALUE,
            "the message has no 'ce_type' header",
            id="no-type",
        ),
        pytest.param(
            [*KAFKA_HEADERS, ("ce_type", b"x")],
            KAFKA_VALUE,
            "header 'ce_type' appears more than once",
            id="twice",
        ),
        pytest.param(
            [*KAFKA_HEADERS[:-1], ("sourcelib", b"\xff")],
            KAFKA_VALUE,
            "field 'sourcelib' is not UTF-8 text",
            id="not-utf8",
        ),
    ],
)
def test_an_unusable_kafka_message_says_why(
    headers: list[tuple[str, bytes]], value: bytes, message: str
) -> None:
    with pytest.raises(MalformedMessage) as caught:
        from_kafka(headers, value)
    assert str(caught.value) == message
