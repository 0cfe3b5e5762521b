"""Built-in event schemas: the payload fields rules may test, with their types.

Key paths are relative to the event payload (``course.course_key``), as in
``/work/shared/events.md``. Every built-in type also has a short default alias that rule
files may use without declaring it:

============================  ===========================================================
alias                         event type
============================  ===========================================================
``course_passed``             ``org.openedx.learning.course.passing.status.updated.v1``
``ccx_course_passed``         ``org.openedx.learning.ccx.course.passing.status.updated.v1``
``course_completed``          ``badgeflow.generic.course.completed.v1``
``achievement_awarded``       ``badgeflow.generic.achievement.awarded.v1``
``quiz_graded``               ``badgeflow.generic.quiz.graded.v1``
``enrollment_created``        ``badgeflow.generic.enrollment.created.v1``
============================  ===========================================================
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "BUILTIN_ALIASES",
    "BUILTIN_EVENT_TYPES",
    "EventSchema",
    "FieldType",
    "builtin_schemas",
]


class FieldType(enum.Enum):
    """The type of a payload field; values are the spelling used in rule files."""

    BOOL = "bool"
    NUMBER = "number"
    STRING = "string"
    TIMESTAMP = "timestamp"


@dataclass(frozen=True)
class EventSchema:
    """The fields of one event type, keyed by dotted path."""

    event_type: str
    alias: str
    fields: Mapping[str, FieldType]


_B, _N, _S, _T = FieldType.BOOL, FieldType.NUMBER, FieldType.STRING, FieldType.TIMESTAMP

_OPENEDX_USER = {
    "user.id": _N,
    "user.is_active": _B,
    "user.pii.username": _S,
    "user.pii.email": _S,
    "user.pii.name": _S,
}


def _schema(event_type: str, alias: str, fields: Mapping[str, FieldType]) -> EventSchema:
    return EventSchema(event_type, alias, MappingProxyType(dict(fields)))


_SCHEMAS = (
    _schema(
        "org.openedx.learning.course.passing.status.updated.v1",
        "course_passed",
        {
            "is_passing": _B,
            "course.course_key": _S,
            "course.display_name": _S,
            "course.start": _T,
            "course.end": _T,
            **_OPENEDX_USER,
        },
    ),
    _schema(
        "org.openedx.learning.ccx.course.passing.status.updated.v1",
        "ccx_course_passed",
        {
            "is_passing": _B,
            "course.ccx_course_key": _S,
            "course.master_course_key": _S,
            "course.display_name": _S,
            "course.coach_email": _S,
            # Open edX sends these two as plain strings on CCX courses (events.md).
            "course.start": _S,
            "course.end": _S,
            "course.max_students_allowed": _N,
            **_OPENEDX_USER,
        },
    ),
    _schema(
        "badgeflow.generic.course.completed.v1",
        "course_completed",
        {
            "course.id": _S,
            "course.title": _S,
            "passed": _B,
            "score": _N,
            "completed_at": _T,
            "session.id": _S,
        },
    ),
    _schema(
        "badgeflow.generic.achievement.awarded.v1",
        "achievement_awarded",
        {
            "achievement.id": _S,
            "project.name": _S,
            "project.url": _S,
            "company.name": _S,
            "company.url": _S,
            "portal.name": _S,
            "portal.url": _S,
        },
    ),
    _schema(
        "badgeflow.generic.quiz.graded.v1",
        "quiz_graded",
        {"quiz.id": _S, "course.id": _S, "score": _N, "passed": _B, "graded_at": _T},
    ),
    _schema(
        "badgeflow.generic.enrollment.created.v1",
        "enrollment_created",
        {"course.id": _S, "mode": _S, "enrolled_at": _T},
    ),
)

BUILTIN_EVENT_TYPES: Mapping[str, EventSchema] = MappingProxyType(
    {schema.event_type: schema for schema in _SCHEMAS}
)
"""Built-in schemas keyed by full event type."""

BUILTIN_ALIASES: Mapping[str, str] = MappingProxyType(
    {schema.alias: schema.event_type for schema in _SCHEMAS}
)
"""Default aliases (``course_passed`` ...) mapped to full event types."""


def builtin_schemas() -> tuple[EventSchema, ...]:
    """All built-in schemas, in a stable order (for listings and docs)."""
    return _SCHEMAS
