"""Translation between protobuf messages and the engine's records."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from badgeflow.v1 import event_pb2, progress_pb2
from google.protobuf import struct_pb2, timestamp_pb2

from server.domain import (
    AwardOrigin,
    AwardRecord,
    AwardState,
    EventRecord,
    LearnerRecord,
    RevokedBy,
)
from server.engine.events import EventAck, IncomingEvent, Outcome

__all__ = [
    "ack_to_proto",
    "award_to_proto",
    "event_from_proto",
    "event_to_proto",
    "struct_to_dict",
    "timestamp",
]

_OUTCOMES = {
    Outcome.ACCEPTED: event_pb2.EVENT_OUTCOME_ACCEPTED,
    Outcome.DUPLICATE: event_pb2.EVENT_OUTCOME_DUPLICATE,
    Outcome.REJECTED: event_pb2.EVENT_OUTCOME_REJECTED,
}
_AWARD_ORIGINS = {
    AwardOrigin.RULES: progress_pb2.AWARD_ORIGIN_RULES,
    AwardOrigin.GRANT: progress_pb2.AWARD_ORIGIN_GRANT,
    AwardOrigin.BACKFILL: progress_pb2.AWARD_ORIGIN_BACKFILL,
}
_AWARD_STATES = {
    AwardState.AWARDED: progress_pb2.AWARD_STATE_AWARDED,
    AwardState.REVOKED: progress_pb2.AWARD_STATE_REVOKED,
}
_REVOKED_BY = {
    None: progress_pb2.REVOKED_BY_UNSPECIFIED,
    RevokedBy.PENALTY: progress_pb2.REVOKED_BY_PENALTY,
    RevokedBy.ADMIN: progress_pb2.REVOKED_BY_ADMIN,
}


#: Largest payload accepted, in bytes (JSON text, or the Struct's encoded size).
MAX_PAYLOAD_BYTES = 64 * 1024
#: Deepest payload accepted (objects and lists within each other).
MAX_PAYLOAD_DEPTH = 32


def _value(value: struct_pb2.Value, depth: int) -> Any:
    # Ordered by how often payloads hold each kind; this runs for every payload field.
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        if "\x00" in text:
            raise _Undecodable("INVALID_PAYLOAD", _NUL)
        return text
    if kind == "struct_value":
        return _struct(value.struct_value, depth + 1)
    if kind == "bool_value":
        return value.bool_value
    if kind == "number_value":
        number = value.number_value
        if not math.isfinite(number):
            raise _Undecodable(
                "INVALID_PAYLOAD", "payload holds NaN or infinity, which JSON cannot carry"
            )
        # JSON has one number type; whole numbers come back as int so payloads read
        # naturally in the event log. Rules compare numbers by value either way.
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "list_value":
        if depth >= MAX_PAYLOAD_DEPTH:
            raise _Undecodable("PAYLOAD_TOO_DEEP", _TOO_DEEP)
        return [_value(v, depth + 1) for v in value.list_value.values]
    return None


class _Undecodable(ValueError):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def struct_to_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain data; raises ValueError for what an event payload may not
    hold (see `MAX_PAYLOAD_DEPTH`, NaN, U+0000)."""
    return _struct(struct, 1)


def _struct(struct: struct_pb2.Struct, depth: int) -> dict[str, Any]:
    if depth > MAX_PAYLOAD_DEPTH:
        raise _Undecodable("PAYLOAD_TOO_DEEP", _TOO_DEEP)
    # Keys then lookups: the map's `items()` is the pure-Python Mapping mixin, slower
    # than iterating and indexing the C container.
    fields = struct.fields
    found = {key: _value(fields[key], depth) for key in fields}
    if any("\x00" in key for key in found):
        raise _Undecodable("INVALID_PAYLOAD", _NUL)
    return found


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value.astimezone(UTC))
    return ts


def event_from_proto(event: event_pb2.Event) -> IncomingEvent:
    learner = None
    if event.HasField("learner"):
        lr = event.learner
        learner = LearnerRecord(lr.id, lr.email, lr.first_name, lr.last_name)
    try:
        occurred = _occurred_at(event)
        payload, text = _payload(event)
    except _Undecodable as problem:
        # Decided per event, so one bad event cannot fail the rest of its batch.
        return IncomingEvent(
            event.id, event.type, learner, None, {}, event.source, (problem.code, problem.reason)
        )
    return IncomingEvent(
        id=event.id,
        type=event.type,
        learner=learner,
        occurred_at=occurred,
        payload=payload,
        source=event.source,
        payload_text=text,
    )


def _payload(event: event_pb2.Event) -> tuple[dict[str, Any], str | None]:
    """The payload as a dict, and its JSON text when it came as JSON."""
    raw = event.payload_json
    if not raw:
        if event.payload.ByteSize() > MAX_PAYLOAD_BYTES:
            raise _Undecodable("PAYLOAD_TOO_LARGE", _too_large(event.payload.ByteSize()))
        return _struct(event.payload, 1), None
    if event.payload.fields:
        raise _Undecodable("INVALID_PAYLOAD", "set payload or payload_json, not both")
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise _Undecodable("PAYLOAD_TOO_LARGE", _too_large(len(raw)))
    try:
        text = raw.decode("utf-8")
        value = _JSON.decode(text)
    except UnicodeDecodeError:
        raise _Undecodable("INVALID_PAYLOAD", "payload_json is not UTF-8") from None
    except RecursionError:
        raise _Undecodable("PAYLOAD_TOO_DEEP", _TOO_DEEP) from None
    except ValueError as problem:
        raise _Undecodable("INVALID_PAYLOAD", f"payload_json is not JSON: {problem}") from None
    if not isinstance(value, dict):
        raise _Undecodable("INVALID_PAYLOAD", "payload_json must be a JSON object ({...})")
    # Cheap screens first: a payload with few brackets cannot be deep, and one without
    # a \u escape cannot hold U+0000 or a lone surrogate.
    if text.count("{") + text.count("[") > MAX_PAYLOAD_DEPTH or "\\u" in text:
        _check_json_value(value)
    return value, text


def _check_json_value(payload: dict[str, Any]) -> None:
    """Depth, U+0000 and unpaired surrogates (neither store can hold the last two), walked
    without recursion."""
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
            continue
        if depth > MAX_PAYLOAD_DEPTH:
            raise _Undecodable("PAYLOAD_TOO_DEEP", _TOO_DEEP)
        if isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise _Undecodable("INVALID_PAYLOAD", _NUL)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Undecodable(
            "INVALID_PAYLOAD", "payload_json holds an unpaired surrogate (\\ud800-\\udfff)"
        ) from None


_NUL = "payload holds U+0000 (a NUL character), which the event log cannot store"
_TOO_DEEP = f"payload nests objects and lists more than {MAX_PAYLOAD_DEPTH} deep"


def _too_large(size: int) -> str:
    return f"payload is {size:,} bytes; at most {MAX_PAYLOAD_BYTES:,} are accepted"


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


# Built once: `json.loads` with any option builds a new decoder per call.
_JSON = json.JSONDecoder(parse_constant=_no_constant)


def event_to_proto(record: EventRecord) -> event_pb2.Event:
    """A logged event as it was sent; the log keeps the learner's id, not their profile."""
    payload = struct_pb2.Struct()
    payload.update(record.payload)
    return event_pb2.Event(
        id=record.id,
        type=record.type,
        occurred_at=timestamp(record.occurred_at),
        learner=event_pb2.Learner(id=record.learner_id),
        payload=payload,
        source=record.source,
    )


def _occurred_at(event: event_pb2.Event) -> datetime | None:
    if not event.HasField("occurred_at"):
        return None
    try:
        return event.occurred_at.ToDatetime(UTC)
    except (ValueError, OverflowError):
        raise _Undecodable(
            "INVALID_OCCURRED_AT",
            "occurred_at is outside 0001-01-01..9999-12-31 or has invalid nanos",
        ) from None


def ack_to_proto(ack: EventAck) -> event_pb2.EventResult:
    return event_pb2.EventResult(
        event_id=ack.event_id,
        outcome=_OUTCOMES[ack.outcome],
        reason_code=ack.reason_code,
        reason=ack.reason,
    )


def award_to_proto(award: AwardRecord) -> progress_pb2.Award:
    return progress_pb2.Award(
        id=str(award.id or ""),
        template_id=award.template_id,
        badge=award.badge,
        learner_id=award.learner_id,
        sequence=award.sequence,
        state=_AWARD_STATES[award.state],
        award_time=timestamp(award.awarded_at),
        revoke_time=timestamp(award.revoked_at),
        revoked_by=_REVOKED_BY[award.revoked_by],
        revoke_reason=award.revoke_reason,
        event_ids=list(award.event_ids),
        expire_time=timestamp(award.expires_at),
        evidence=[
            progress_pb2.EvidenceItem(kind=e.kind, name=e.name, value=e.value)
            for e in award.evidence
        ],
        origin=_AWARD_ORIGINS[award.origin],
        grant_reason=award.grant_reason,
    )
