"""Learner events from plain data: the JSON-lines format `badgectl events send` reads.

One event per line, as a JSON object:

    {"id": "evt-1",
     "type": "org.openedx.learning.course.passing.status.updated.v1",
     "occurred_at": "2026-11-23T10:00:00Z",
     "learner": {"id": "L1", "email": "ada@example.org", "first_name": "Ada", "last_name": "L."},
     "payload": {"is_passing": true,
                 "course": {"course_key": "course-v1:OpenedX+DemoX+Demo_Course"}},
     "source": "openedx"}

- `id` and `type` are required strings. `id` is the sender's unique id: re-sending it is
  acknowledged as DUPLICATE.
- `occurred_at` is optional: an ISO 8601 time *with* a zone offset ("Z" or "+02:00");
  the receive time is used when it is missing.
- `learner` is optional here (the server rejects an event without a learner id, with a
  reason); its keys are `id`, `email`, `first_name`, `last_name`, all strings.
- `payload` is an optional JSON object; rule key paths such as `course.course_key` are
  relative to it. It travels as `Event.payload_json` (compact JSON bytes).
- `source` is an optional string naming the sending platform.

Any other key is an error, so a typo such as "ocurred_at" is caught before sending.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from badgeflow.v1 import event_pb2

__all__ = ["event_from_dict", "payload_json"]

_TOP_LEVEL_KEYS = ("id", "type", "occurred_at", "learner", "payload", "source")
_LEARNER_KEYS = ("id", "email", "first_name", "last_name")


def _unknown_keys(obj: Mapping[str, Any], allowed: tuple[str, ...], where: str) -> None:
    unknown = sorted(str(k) for k in obj if k not in allowed)
    if unknown:
        raise ValueError(
            f"unknown {where}key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}"
        )


def _string(obj: Mapping[str, Any], key: str, name: str, *, required: bool = False) -> str:
    if key not in obj:
        if required:
            raise ValueError(f"{name} is required")
        return ""
    value = obj[key]
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, not {type(value).__name__}: {value!r}")
    if required and not value:
        raise ValueError(f"{name} must not be empty")
    return value


def _occurred_at(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"occurred_at is not an ISO 8601 time: {value!r}")
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"occurred_at is not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"occurred_at has no time zone (add 'Z' or an offset): {value!r}")
    return when


def _learner(value: Any) -> event_pb2.Learner:
    if not isinstance(value, Mapping):
        raise ValueError(f"learner must be an object, not {type(value).__name__}: {value!r}")
    _unknown_keys(value, _LEARNER_KEYS, "learner ")
    return event_pb2.Learner(**{k: _string(value, k, f"learner.{k}") for k in _LEARNER_KEYS})


def event_from_dict(obj: Mapping[str, Any]) -> event_pb2.Event:
    """Build an `Event` from one decoded JSON line (see the module docstring).

    Raises ValueError naming the bad field.

    Example:
        >>> event = event_from_dict({"id": "e1", "type": "course_passed",
        ...                          "learner": {"id": "L1"}, "payload": {"score": 0.9}})
        >>> event.learner.id, event.payload_json
        ('L1', b'{"score":0.9}')
    """
    if not isinstance(obj, Mapping):
        raise ValueError(f"an event must be a JSON object, not {type(obj).__name__}")
    _unknown_keys(obj, _TOP_LEVEL_KEYS, "")
    event = event_pb2.Event(
        id=_string(obj, "id", "id", required=True),
        type=_string(obj, "type", "type", required=True),
        source=_string(obj, "source", "source"),
    )
    if obj.get("occurred_at") is not None:
        event.occurred_at.FromDatetime(_occurred_at(obj["occurred_at"]))
    if "learner" in obj:
        event.learner.CopyFrom(_learner(obj["learner"]))
    if "payload" in obj:
        payload = obj["payload"]
        if not isinstance(payload, Mapping):
            raise ValueError(
                f"payload must be an object, not {type(payload).__name__}: {payload!r}"
            )
        event.payload_json = payload_json(payload)
    return event


def payload_json(payload: Mapping[str, Any]) -> bytes:
    """A payload as the `Event.payload_json` bytes: compact UTF-8 JSON, which the server
    reads far faster than a `Struct` (and building it is faster too).

    Raises ValueError for what JSON cannot carry (NaN, infinity, non-string keys' values
    such as sets or bytes, unpaired surrogates).

    Example:
        >>> payload_json({"is_passing": True, "course": {"course_key": "course-v1:X"}})
        b'{"is_passing":true,"course":{"course_key":"course-v1:X"}}'
    """
    try:
        text = json.dumps(payload, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        return text.encode("utf-8")
    except (TypeError, ValueError) as error:
        raise ValueError(f"payload cannot be stored: {error}") from None
