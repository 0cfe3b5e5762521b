"""An event as the engine receives it, its acknowledgement, and the checks that decide
whether it can be processed at all."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from server.domain import LearnerRecord

__all__ = ["MAX_ID_LENGTH", "EventAck", "IncomingEvent", "Outcome", "rejection"]

#: Ids, types, learner fields and sources longer than this are refused, not truncated.
MAX_ID_LENGTH = 255


class Outcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


# Not frozen: built once per event on the ingest path, where a frozen dataclass's
# __init__ (object.__setattr__ per field) costs about 4x a plain one. Never mutated.
@dataclass(slots=True)
class IncomingEvent:
    id: str
    type: str
    learner: LearnerRecord | None
    occurred_at: datetime | None
    payload: dict[str, Any]
    source: str = ""
    #: (reason code, reason) when the event could not be decoded; it is then rejected.
    defect: tuple[str, str] | None = None
    #: The payload as the sender's JSON text, when it came as JSON: logged as it is,
    #: which spares encoding it again.
    payload_text: str | None = None


@dataclass(slots=True)  # not frozen: see IncomingEvent
class EventAck:
    event_id: str
    outcome: Outcome
    reason_code: str = ""
    reason: str = ""


def _reject(event: IncomingEvent, code: str, reason: str) -> EventAck:
    return EventAck(event.id, Outcome.REJECTED, code, reason)


def rejection(event: IncomingEvent) -> EventAck | None:
    """Why the event cannot be processed, or None when it can. A rejected event has no
    effect and is not recorded, so the sender can fix it and send it again."""
    if not event.id:
        return _reject(event, "MISSING_EVENT_ID", "event.id is empty: give every event a unique id")
    if len(event.id) > MAX_ID_LENGTH:
        return _reject(
            event, "EVENT_ID_TOO_LONG", f"event.id is longer than {MAX_ID_LENGTH} characters"
        )
    if not event.type:
        return _reject(event, "MISSING_EVENT_TYPE", "event.type is empty: name the event type")
    if len(event.type) > MAX_ID_LENGTH:
        return _reject(
            event, "EVENT_TYPE_TOO_LONG", f"event.type is longer than {MAX_ID_LENGTH} characters"
        )
    if event.learner is None or not event.learner.id:
        return _reject(
            event,
            "MISSING_LEARNER",
            "event.learner.id is empty: say which learner the event is about",
        )
    if event.defect is not None:
        return _reject(event, *event.defect)
    if len(event.learner.id) > MAX_ID_LENGTH:
        return _reject(
            event,
            "LEARNER_ID_TOO_LONG",
            f"event.learner.id is longer than {MAX_ID_LENGTH} characters",
        )
    return _text_rejection(event, event.learner)


def _text_rejection(event: IncomingEvent, learner: LearnerRecord) -> EventAck | None:
    """The short text fields: bounded, and free of U+0000 (which PostgreSQL cannot
    store; refusing it everywhere keeps the two stores alike)."""
    values = (
        event.id,
        event.type,
        event.source,
        learner.id,
        learner.email,
        learner.first_name,
        learner.last_name,
    )
    joined = "".join(values)  # one scan for the common case: nothing wrong
    if "\x00" not in joined and max(map(len, values)) <= MAX_ID_LENGTH:
        return None
    for name, value in zip(_TEXT_FIELDS, values, strict=True):
        if "\x00" in value:
            return _reject(event, "INVALID_TEXT", f"event.{name} holds U+0000; remove it")
        if len(value) > MAX_ID_LENGTH:
            return _reject(
                event, "TEXT_TOO_LONG", f"event.{name} is longer than {MAX_ID_LENGTH} characters"
            )
    return None


_TEXT_FIELDS = (
    "id",
    "type",
    "source",
    "learner.id",
    "learner.email",
    "learner.first_name",
    "learner.last_name",
)
