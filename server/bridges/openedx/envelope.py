"""The metadata that travels beside an Open edX payload, and its two wire forms.

Redis Streams carry it as plain entry fields (`type`, `id`, …, `event_data`); Kafka as
`ce_`-prefixed headers beside a Confluent-framed value (magic byte 0, a 4-byte
big-endian schema-registry id, then the Avro body). The Avro body is the same bytes on
both buses.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "CONFLUENT_MAGIC",
    "Envelope",
    "MalformedMessage",
    "frame",
    "from_kafka",
    "from_redis_fields",
    "to_kafka",
    "to_redis_fields",
    "unframe",
]

CONFLUENT_MAGIC = 0
_FRAME = struct.Struct(">bI")
_REDIS_FIELDS = ("type", "id", "source", "time", "minorversion", "sourcehost", "sourcelib")
_KAFKA_HEADERS = {
    "type": "ce_type",
    "id": "ce_id",
    "source": "ce_source",
    "time": "ce_time",
    "minorversion": "ce_minorversion",
    "sourcehost": "sourcehost",
    "sourcelib": "sourcelib",
}
_KAFKA_CONSTANT_HEADERS = (
    ("ce_specversion", b"1.0"),
    ("content-type", b"application/avro"),
    ("ce_datacontenttype", b"application/avro"),
)


class MalformedMessage(ValueError):
    """A bus message that is not an Open edX event; the message says what is wrong."""


@dataclass(frozen=True)
class Envelope:
    """One Open edX event as it travels: its metadata and the Avro `data`."""

    type: str
    id: str
    data: bytes
    source: str = ""
    time: str = ""
    minorversion: str = "0"
    sourcehost: str = ""
    sourcelib: str = ""


def _text(value: bytes, name: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedMessage(f"field {name!r} is not UTF-8 text") from None


def from_redis_fields(fields: Mapping[bytes, bytes], fallback_id: str) -> Envelope:
    """Read a stream entry written by edx-event-bus-redis.

    `fallback_id` (stable per entry, e.g. stream and entry id) stands in for a missing
    `id`, so a redelivered entry still carries the same event id.
    """
    if b"event_data" not in fields:
        raise MalformedMessage("the entry has no 'event_data' field")
    meta = {
        name: _text(fields[name.encode()], name)
        for name in _REDIS_FIELDS
        if name.encode() in fields
    }
    if not meta.get("type"):
        raise MalformedMessage("the entry has no 'type' field")
    meta["id"] = meta.get("id") or fallback_id
    return Envelope(data=fields[b"event_data"], **meta)


def to_redis_fields(envelope: Envelope) -> dict[str, bytes]:
    """The entry fields, in the order edx-event-bus-redis writes them."""
    fields = {name: getattr(envelope, name).encode() for name in _REDIS_FIELDS}
    fields["event_data"] = envelope.data
    return fields


def unframe(value: bytes) -> tuple[int, bytes]:
    """Split a Confluent-framed value into (schema id, Avro body)."""
    if len(value) < _FRAME.size:
        raise MalformedMessage(f"the value has {len(value)} bytes, fewer than a Confluent frame")
    magic, schema_id = _FRAME.unpack_from(value)
    if magic != CONFLUENT_MAGIC:
        raise MalformedMessage(f"the value starts with magic byte {magic}, not 0 (Confluent)")
    return schema_id, value[_FRAME.size :]


def frame(schema_id: int, body: bytes) -> bytes:
    return _FRAME.pack(CONFLUENT_MAGIC, schema_id) + body


def _headers(headers: Sequence[tuple[str, bytes | None]]) -> dict[str, str]:
    wanted = set(_KAFKA_HEADERS.values())
    found: dict[str, str] = {}
    for name, value in headers:
        if name not in wanted:
            continue
        if name in found:
            raise MalformedMessage(f"header {name!r} appears more than once")
        found[name] = _text(value or b"", name)
    return found


def from_kafka(headers: Sequence[tuple[str, bytes | None]], value: bytes) -> tuple[int, Envelope]:
    """Read a message written by edx-event-bus-kafka: (schema id, envelope)."""
    found = _headers(headers)
    for required in ("ce_type", "ce_id"):
        if not found.get(required):
            raise MalformedMessage(f"the message has no {required!r} header")
    schema_id, body = unframe(value)
    meta = {field: found[header] for field, header in _KAFKA_HEADERS.items() if header in found}
    return schema_id, Envelope(data=body, **meta)


def to_kafka(envelope: Envelope, schema_id: int) -> tuple[list[tuple[str, bytes]], bytes]:
    """Headers and framed value as edx-event-bus-kafka produces them."""
    headers = [
        (header, getattr(envelope, field).encode()) for field, header in _KAFKA_HEADERS.items()
    ]
    return [*_KAFKA_CONSTANT_HEADERS, *headers], frame(schema_id, envelope.data)
