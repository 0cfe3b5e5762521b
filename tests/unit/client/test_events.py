"""event_from_dict: the JSON-lines event format."""

from __future__ import annotations

from typing import Any

import pytest
from badgeflow.v1 import event_pb2
from badgeflow_client import event_from_dict
from google.protobuf import timestamp_pb2

PASSED = "org.openedx.learning.course.passing.status.updated.v1"


def test_full_event() -> None:
    event = event_from_dict(
        {
            "id": "evt-1",
            "type": PASSED,
            "occurred_at": "2026-11-23T10:00:00Z",
            "learner": {
                "id": "L1",
                "email": "ada@example.org",
                "first_name": "Ada",
                "last_name": "Lovelace",
            },
            "payload": {
                "is_passing": True,
                "course": {"course_key": "course-v1:X"},
                "tags": ["a", 1],
            },
            "source": "openedx",
        }
    )
    payload = b'{"is_passing":true,"course":{"course_key":"course-v1:X"},"tags":["a",1]}'
    assert event == event_pb2.Event(
        id="evt-1",
        type=PASSED,
        occurred_at=timestamp_pb2.Timestamp(seconds=1795428000),
        learner=event_pb2.Learner(
            id="L1", email="ada@example.org", first_name="Ada", last_name="Lovelace"
        ),
        payload_json=payload,
        source="openedx",
    )


def test_minimal_event_leaves_optional_fields_unset() -> None:
    event = event_from_dict({"id": "evt-1", "type": PASSED})
    assert event == event_pb2.Event(id="evt-1", type=PASSED)
    assert (
        event.HasField("occurred_at"),
        event.HasField("learner"),
        event.HasField("payload"),
    ) == (
        False,
        False,
        False,
    )


def test_offset_is_converted_to_utc() -> None:
    event = event_from_dict({"id": "e", "type": "t", "occurred_at": "2026-11-23T12:00:00+02:00"})
    assert event.occurred_at.ToJsonString() == "2026-11-23T10:00:00Z"


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        pytest.param(
            {"id": "e", "type": "t", "occurred_at": "x"},
            "occurred_at is not an ISO 8601 time: 'x'",
            id="bad-time",
        ),
        pytest.param(
            {"id": "e", "type": "t", "occurred_at": 12},
            "occurred_at is not an ISO 8601 time: 12",
            id="time-not-string",
        ),
        pytest.param(
            {"id": "e", "type": "t", "occurred_at": "2026-11-23T10:00:00"},
            "occurred_at has no time zone (add 'Z' or an offset): '2026-11-23T10:00:00'",
            id="naive-time",
        ),
        pytest.param({"type": "t"}, "id is required", id="missing-id"),
        pytest.param({"id": "", "type": "t"}, "id must not be empty", id="empty-id"),
        pytest.param({"id": 7, "type": "t"}, "id must be a string, not int: 7", id="id-not-string"),
        pytest.param({"id": "e"}, "type is required", id="missing-type"),
        pytest.param(
            {"id": "e", "type": "t", "ocurred_at": "x"},
            "unknown key(s) 'ocurred_at'; allowed: id, type, occurred_at, learner, payload, source",
            id="unknown-key",
        ),
        pytest.param(
            {"id": "e", "type": "t", "learner": "L1"},
            "learner must be an object, not str: 'L1'",
            id="learner-not-object",
        ),
        pytest.param(
            {"id": "e", "type": "t", "learner": {"id": "L1", "mail": "x"}},
            "unknown learner key(s) 'mail'; allowed: id, email, first_name, last_name",
            id="unknown-learner-key",
        ),
        pytest.param(
            {"id": "e", "type": "t", "learner": {"id": 1}},
            "learner.id must be a string, not int: 1",
            id="learner-id-not-string",
        ),
        pytest.param(
            {"id": "e", "type": "t", "payload": [1]},
            "payload must be an object, not list: [1]",
            id="payload-not-object",
        ),
        pytest.param(
            {"id": "e", "type": "t", "payload": {"score": float("nan")}},
            "payload cannot be stored: Out of range float values are not JSON compliant",
            id="payload-nan",
        ),
        pytest.param(
            {"id": "e", "type": "t", "source": None},
            "source must be a string, not NoneType: None",
            id="source-not-string",
        ),
        pytest.param(["e"], "an event must be a JSON object, not list", id="not-an-object"),
    ],
)
def test_bad_events_name_the_field(obj: Any, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        event_from_dict(obj)
    assert str(raised.value) == message
