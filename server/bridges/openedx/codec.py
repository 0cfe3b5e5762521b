"""Avro payloads of the Open edX event bus, decoded and encoded without Django.

The payload is schemaless Avro binary (no container header, no embedded schema), so
bytes can be read only with the writer's schema. The four schemas badgeflow needs ship
as data next to this module, one file per event type, written from the field layout
of openedx-events 9.10.0 … 11.2.0 (unchanged across those versions).
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import fastavro

__all__ = [
    "BADGE_AWARDED",
    "BADGE_REVOKED",
    "CCX_PASSING_STATUS_UPDATED",
    "CONSUMED_TYPES",
    "PASSING_STATUS_UPDATED",
    "DecodeError",
    "decode",
    "encode",
    "schema_for",
]

PASSING_STATUS_UPDATED = "org.openedx.learning.course.passing.status.updated.v1"
CCX_PASSING_STATUS_UPDATED = "org.openedx.learning.ccx.course.passing.status.updated.v1"
BADGE_AWARDED = "org.openedx.learning.badge.awarded.v1"
BADGE_REVOKED = "org.openedx.learning.badge.revoked.v1"
CONSUMED_TYPES = frozenset({PASSING_STATUS_UPDATED, CCX_PASSING_STATUS_UPDATED})
"""The event types the bridge turns into badgeflow events; others are skipped."""
_KNOWN = (PASSING_STATUS_UPDATED, CCX_PASSING_STATUS_UPDATED, BADGE_AWARDED, BADGE_REVOKED)


class DecodeError(ValueError):
    """A payload that cannot be read as its event type; the message says why."""


@cache
def schema_for(event_type: str) -> Any:
    """The parsed Avro schema shipped for `event_type`; `KeyError` for other types."""
    if event_type not in _KNOWN:
        raise KeyError(event_type)
    text = (
        resources.files(__package__).joinpath("schemas").joinpath(f"{event_type}.avsc").read_text()
    )
    return fastavro.parse_schema(json.loads(text))


def parse_writer_schema(text: str) -> Any:
    """A writer schema as a schema registry returns it (JSON text), parsed."""
    try:
        return fastavro.parse_schema(json.loads(text), named_schemas={})
    except (ValueError, fastavro.schema.SchemaParseException) as exc:
        raise DecodeError(f"the writer schema is not valid Avro: {exc}") from exc


def decode(event_type: str, data: bytes, writer_schema: Any = None) -> dict[str, Any]:
    """Read `data` as `event_type`; with `writer_schema` (Kafka's registered schema) the
    record is resolved from it to the shipped schema. Trailing bytes are an error: they
    mean the bytes were written with another schema."""
    reader = schema_for(event_type)
    stream = io.BytesIO(data)
    try:
        if writer_schema is None:  # Redis: written with exactly this schema
            record = fastavro.schemaless_reader(stream, reader, None)
        else:
            record = fastavro.schemaless_reader(stream, writer_schema, reader)
    except Exception as exc:  # EOFError, UnicodeDecodeError, fastavro's resolution errors…
        raise DecodeError(f"not a {event_type} Avro payload: {_why(exc)}") from exc
    if stream.tell() != len(data):
        raise DecodeError(
            f"not a {event_type} Avro payload: {len(data) - stream.tell()} bytes left over "
            f"after the record (written with another schema?)"
        )
    if not isinstance(record, dict):
        raise DecodeError(f"not a {event_type} Avro payload: not a record")
    return record


def _why(exc: Exception) -> str:
    if isinstance(exc, EOFError):
        return "the bytes end inside the record"
    return str(exc) or type(exc).__name__


def encode(event_type: str, record: Mapping[str, Any]) -> bytes:
    """Write `record` as `event_type`'s schemaless Avro, as openedx-events does."""
    out = io.BytesIO()
    fastavro.schemaless_writer(out, schema_for(event_type), dict(record))
    return out.getvalue()
