"""Open edX records ↔ badgeflow: a passing-status event becomes a badgeflow `Event`
(the learner lifted out of the payload), and a badgeflow award becomes a `BadgeData`
record for `badge.awarded.v1` / `badge.revoked.v1`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from badgeflow.v1 import event_pb2
from google.protobuf import struct_pb2, timestamp_pb2

from server.bridges.openedx.envelope import Envelope

__all__ = [
    "AWARD_NAMESPACE",
    "OpenedxUser",
    "TemplateInfo",
    "badge_record",
    "badge_uuid",
    "split_name",
    "to_event",
]

PAYLOAD_FIELD = "course_passing_status"
AWARD_NAMESPACE = uuid.UUID("6f1c4a52-1f0e-5b7e-9a43-2b8f0d6c1e77")
"""Namespace of the UUIDs the bridge derives from badgeflow award ids (uuid5)."""


@dataclass(frozen=True)
class OpenedxUser:
    """The learner as Open edX describes it (`UserData`)."""

    id: int
    is_active: bool
    username: str
    email: str
    name: str

    @classmethod
    def from_record(cls, user: Mapping[str, Any]) -> OpenedxUser:
        pii = user["pii"]
        return cls(user["id"], user["is_active"], pii["username"], pii["email"], pii["name"])

    def to_record(self) -> dict[str, Any]:
        pii = {"username": self.username, "email": self.email, "name": self.name}
        return {"id": self.id, "is_active": self.is_active, "pii": pii}


def split_name(full_name: str) -> tuple[str, str]:
    """Open edX keeps one full-name string: the first word is the first name, the rest
    the last name; an empty name stays empty.

    >>> split_name("  Ada   King Lovelace ")
    ('Ada', 'King Lovelace')
    """
    parts = full_name.strip().split(None, 1)
    return (parts[0] if parts else "", parts[1] if len(parts) > 1 else "")


def _without_nulls(value: Any) -> Any:
    """Absent optional fields (Avro null) are left out, so rules see them as absent."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def _timestamp(text: str) -> timestamp_pb2.Timestamp | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def to_event(envelope: Envelope, record: Mapping[str, Any]) -> event_pb2.Event:
    """The badgeflow event for a decoded passing-status record. The event id is the
    envelope's (CloudEvents) id, stable across redeliveries; the payload is the
    `course_passing_status` object, as rule key paths expect."""
    status = record[PAYLOAD_FIELD]
    user = OpenedxUser.from_record(status["user"])
    first, last = split_name(user.name)
    payload = struct_pb2.Struct()
    payload.update(_without_nulls(status))
    event = event_pb2.Event(
        id=envelope.id,
        type=envelope.type,
        learner=event_pb2.Learner(
            id=str(user.id), email=user.email, first_name=first, last_name=last
        ),
        payload=payload,
        source=envelope.source or "openedx",
    )
    occurred_at = _timestamp(envelope.time) if envelope.time else None
    if occurred_at is not None:
        event.occurred_at.CopyFrom(occurred_at)
    return event


@dataclass(frozen=True)
class TemplateInfo:
    """What `BadgeTemplateData` says about a badgeflow template."""

    origin: str
    uuid: str
    name: str = ""
    description: str = ""


def badge_uuid(award_id: str) -> str:
    """The `badge.uuid` of a badgeflow award: the same for its award and revocation."""
    return str(uuid.uuid5(AWARD_NAMESPACE, f"badgeflow-award:{award_id}"))


def badge_record(award_id: str, user: OpenedxUser, template: TemplateInfo) -> dict[str, Any]:
    """The `badge` record of `badge.awarded.v1` / `badge.revoked.v1`."""
    return {
        "badge": {
            "uuid": badge_uuid(award_id),
            "user": user.to_record(),
            "template": {
                "uuid": template.uuid,
                "origin": template.origin,
                "name": template.name or None,
                "description": template.description or None,
                "image_url": None,
            },
        }
    }
