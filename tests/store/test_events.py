from __future__ import annotations

import dataclasses
from datetime import timedelta, timezone

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.domain import EventRecord
from server.store import count_events, existing_event_ids, get_event, insert_events
from tests.store.conftest import NOW


def event(id: str, learner_id: str = "l1") -> EventRecord:
    return EventRecord(
        id=id,
        type="org.openedx.learning.course.passing.status.updated.v1",
        learner_id=learner_id,
        occurred_at=NOW - timedelta(minutes=5),
        received_at=NOW,
        payload={"is_passing": True, "course": {"course_key": "course-v1:A+B+C"}, "n": [1, 2.5]},
        source="lms",
    )


def test_inserted_events_read_back_equal(session: Session) -> None:
    insert_events(session, [event("e1"), event("e2", learner_id="l2")])
    session.commit()

    assert get_event(session, "e2") == event("e2", learner_id="l2")
    assert get_event(session, "missing") is None
    assert count_events(session) == 2


def test_event_times_come_back_in_utc(session: Session) -> None:
    paris = timezone(timedelta(hours=2))
    local = dataclasses.replace(event("e1"), occurred_at=NOW.astimezone(paris))
    insert_events(session, [local])
    session.commit()

    stored = get_event(session, "e1")
    assert stored is not None
    assert stored.occurred_at == NOW
    assert stored.occurred_at.utcoffset() == timedelta(0)


def test_existing_event_ids_reports_only_known_ids_across_chunks(session: Session) -> None:
    insert_events(session, [event(f"e{i:04}") for i in range(1200)])
    session.commit()

    asked = [f"e{i:04}" for i in range(0, 1500, 2)] + ["e0000", "other"]
    assert existing_event_ids(session, asked) == {f"e{i:04}" for i in range(0, 1200, 2)}
    assert existing_event_ids(session, []) == set()


def test_a_second_event_with_the_same_id_is_rejected(session: Session) -> None:
    insert_events(session, [event("e1")])
    session.commit()

    with pytest.raises(IntegrityError):
        insert_events(session, [event("e2"), event("e1")])
    session.rollback()
    assert count_events(session) == 1


def test_inserting_no_events_does_nothing(session: Session) -> None:
    insert_events(session, [])
    assert count_events(session) == 0
