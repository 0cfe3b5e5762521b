"""The event log's retention sweep and the backfill's reads of the log, on each backend."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from sqlalchemy.orm import Session

from server.domain import EventRecord
from server.store import count_events, existing_event_ids, insert_events
from server.store.backfill import count_events_of_types, learner_event_counts, learner_events
from server.store.retention import delete_events_received_before
from tests.store.conftest import NOW
from tests.store.test_events import event

OTHER = "org.example.other.v1"


def _aged(id: str, days: int, learner_id: str = "l1") -> EventRecord:
    return dataclasses.replace(event(id, learner_id), received_at=NOW - timedelta(days=days))


def test_events_received_before_the_cutoff_are_deleted_oldest_first(session: Session) -> None:
    insert_events(session, [_aged("old1", 400), _aged("old2", 366), _aged("new", 2)])
    session.commit()
    cutoff = NOW - timedelta(days=365)

    assert delete_events_received_before(session, cutoff, limit=1) == 1
    assert existing_event_ids(session, ["old1", "old2"]) == {"old2"}
    assert delete_events_received_before(session, cutoff, limit=10) == 1
    assert delete_events_received_before(session, cutoff, limit=10) == 0
    session.commit()
    assert existing_event_ids(session, ["old1", "old2", "new"]) == {"new"}
    assert count_events(session) == 1


def test_the_log_is_read_a_page_of_learners_at_a_time(session: Session) -> None:
    passed = event("x").type
    records = [event(f"{learner}-{i}", learner) for learner in ("a", "b", "c") for i in range(2)]
    other = dataclasses.replace(event("o1", "d"), type=OTHER)
    late = dataclasses.replace(event("a-early", "a"), occurred_at=NOW - timedelta(days=1))
    insert_events(session, [*records, other, late])
    session.commit()

    assert count_events_of_types(session, {passed}) == 7
    assert count_events_of_types(session, set()) == 0
    assert learner_event_counts(session, {passed}, None, 2) == [("a", 3), ("b", 2)]
    assert learner_event_counts(session, {passed}, "b", 2) == [("c", 2)]
    assert learner_event_counts(session, {passed, OTHER}, "c", 2) == [("d", 1)]
    found = learner_events(session, ["a", "c"], {passed})
    assert [e.id for e in found] == ["a-early", "a-0", "a-1", "c-0", "c-1"]
    assert found[1] == event("a-0", "a")
