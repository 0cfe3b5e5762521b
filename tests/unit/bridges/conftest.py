"""Builders for the bridge's unit tests: Open edX records and bytes as documented
(../shared/openedx-eventbus.md §3.4), and a scripted stand-in for the SDK publisher."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from badgeflow.v1 import event_pb2

DEMO = "course-v1:edX+DemoX+Demo_Course"
CCX = "ccx-v1:edX+DemoX+Demo_Course+ccx@3"
BOB = {
    "id": 42,
    "is_active": True,
    "pii": {"username": "bob", "email": "bob@x.org", "name": "Bob B"},
}
PASSING_RECORD = {
    "course_passing_status": {
        "is_passing": True,
        "course": {"course_key": DEMO, "display_name": "", "start": None, "end": None},
        "user": BOB,
    }
}
CCX_RECORD = {
    "course_passing_status": {
        "is_passing": False,
        "user": BOB,
        "course": {
            "ccx_course_key": CCX,
            "master_course_key": DEMO,
            "display_name": "",
            "coach_email": "",
            "start": None,
            "end": None,
            "max_students_allowed": None,
        },
    }
}
_USER_BYTES = b"\x54\x01" + b"\x06bob" + b"\x12bob@x.org" + b"\x0aBob B"
#: The byte walk-through of the documented sample (is_passing, course, user).
PASSING_BYTES = b"\x01" + b"\x3e" + DEMO.encode() + b"\x00\x00\x00" + _USER_BYTES
#: The CCX sample: is_passing, user, then ccx key, master key and five empty fields.
CCX_BYTES = b"\x00" + _USER_BYTES + b"\x44" + CCX.encode() + b"\x3e" + DEMO.encode() + b"\x00" * 5

Script = Callable[[event_pb2.Event], event_pb2.EventResult | BaseException]


class ScriptedPublisher:
    """Stands in for `AsyncEventPublisher`: records the events and answers each with
    what `script` says (a result, or an exception the future fails with)."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.events: list[event_pb2.Event] = []

    async def publish(self, event: event_pb2.Event) -> asyncio.Future[Any]:
        self.events.append(event)
        future = asyncio.get_running_loop().create_future()
        answer = self.script(event)
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)
        return future


def result(event: event_pb2.Event, outcome: int, code: str = "", reason: str = "") -> Any:
    return event_pb2.EventResult(
        event_id=event.id, outcome=outcome, reason_code=code, reason=reason
    )


@pytest.fixture
def accepting() -> ScriptedPublisher:
    return ScriptedPublisher(lambda e: result(e, event_pb2.EVENT_OUTCOME_ACCEPTED))
