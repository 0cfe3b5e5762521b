"""Open edX records ↔ badgeflow: the learner lifted out of the payload, names split,
absent fields left out; awards as `BadgeData`."""

from __future__ import annotations

import pytest
from google.protobuf import json_format

from server.bridges.openedx import codec
from server.bridges.openedx.envelope import Envelope
from server.bridges.openedx.mapping import (
    OpenedxUser,
    TemplateInfo,
    badge_record,
    badge_uuid,
    split_name,
    to_event,
)
from tests.unit.bridges.conftest import CCX_RECORD, DEMO, PASSING_BYTES, PASSING_RECORD

ENVELOPE = Envelope(
    type=codec.PASSING_STATUS_UPDATED,
    id="3f1c2a10-c9a1-11f0-8de9-0242ac120002",
    data=PASSING_BYTES,
    source="openedx/lms/web",
    time="2026-11-23T09:57:44.006525+00:00",
)


@pytest.mark.parametrize(
    ("name", "split"),
    [
        pytest.param("Bob B", ("Bob", "B"), id="two-words"),
        pytest.param("  Ada   King Lovelace ", ("Ada", "King Lovelace"), id="rest-is-last"),
        pytest.param("Cher", ("Cher", ""), id="one-word"),
        pytest.param("", ("", ""), id="empty"),
        pytest.param("   ", ("", ""), id="blank"),
    ],
)
def test_a_full_name_splits_into_first_and_last(name: str, split: tuple[str, str]) -> None:
    assert split_name(name) == split


def test_a_passing_event_becomes_a_badgeflow_event() -> None:
    event = to_event(ENVELOPE, PASSING_RECORD)
    assert json_format.MessageToDict(event) == {
        "id": "3f1c2a10-c9a1-11f0-8de9-0242ac120002",
        "type": codec.PASSING_STATUS_UPDATED,
        "occurredAt": "2026-11-23T09:57:44.006525Z",
        "learner": {"id": "42", "email": "bob@x.org", "firstName": "Bob", "lastName": "B"},
        "payload": {
            "is_passing": True,
            "course": {"course_key": DEMO, "display_name": ""},
            "user": {
                "id": 42.0,
                "is_active": True,
                "pii": {"username": "bob", "email": "bob@x.org", "name": "Bob B"},
            },
        },
        "source": "openedx/lms/web",
    }


def test_a_ccx_event_keeps_its_keys_and_drops_absent_fields() -> None:
    ccx = Envelope(type=codec.CCX_PASSING_STATUS_UPDATED, id="e2", data=b"", time="not a time")
    event = to_event(ccx, CCX_RECORD)
    assert json_format.MessageToDict(event.payload)["course"] == {
        "ccx_course_key": "ccx-v1:edX+DemoX+Demo_Course+ccx@3",
        "master_course_key": DEMO,
        "display_name": "",
        "coach_email": "",
    }
    assert (event.HasField("occurred_at"), event.source) == (False, "openedx")


def test_an_award_becomes_badge_data() -> None:
    user = OpenedxUser(42, True, "bob", "bob@x.org", "Bob B")
    record = badge_record("17", user, TemplateInfo("credly", "8f2b", "Demo graduate"))
    assert record == {
        "badge": {
            "uuid": badge_uuid("17"),
            "user": {
                "id": 42,
                "is_active": True,
                "pii": {"username": "bob", "email": "bob@x.org", "name": "Bob B"},
            },
            "template": {
                "uuid": "8f2b",
                "origin": "credly",
                "name": "Demo graduate",
                "description": None,
                "image_url": None,
            },
        }
    }
    assert codec.decode(codec.BADGE_AWARDED, codec.encode(codec.BADGE_AWARDED, record)) == record
    assert badge_uuid("17") == badge_uuid("17") != badge_uuid("18")
