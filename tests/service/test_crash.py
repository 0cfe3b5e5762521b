"""SIGKILL the server while a client streams 10,000 events; after a restart every acked
event's effect is there, and re-sending everything completes the work exactly once."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from badgeflow.v1 import event_pb2, event_service_pb2

from tests.service.serverproc import start_server
from tests.service.stubs import apply_and_activate, passed, stubs

TOTAL_LEARNERS = 5_000
BATCH = 100
KILL_AFTER_BATCHES = 70  # all "A" events and part of the "B" events acked
RULES = """
badge "a-and-b" {
    template credly "crash-test"
    require a: on course_passed where is_passing and course.course_key == "A"
    require b: on course_passed where is_passing and course.course_key == "B"
}
"""
TEMPLATE = "credly:crash-test"


def all_events() -> list[event_pb2.Event]:
    """A for every learner, then B for every learner: 10,000 events."""
    return [
        passed(f"{course}-{i}", f"learner-{i}", course=course)
        for course in "AB"
        for i in range(TOTAL_LEARNERS)
    ]


async def batches(
    events: list[event_pb2.Event],
) -> AsyncIterator[event_service_pb2.StreamEventsRequest]:
    for seq, start in enumerate(range(0, len(events), BATCH), 1):
        yield event_service_pb2.StreamEventsRequest(
            sequence=seq, events=events[start : start + BATCH]
        )


def stored_state(db: Path) -> tuple[set[str], dict[str, set[str]], set[str]]:
    with sqlite3.connect(db) as conn:
        event_ids = {row[0] for row in conn.execute("select id from events")}
        progress = {
            learner: set(json.loads(reqs))
            for learner, reqs in conn.execute("select learner_id, requirements from progress")
        }
        awarded = {
            row[0] for row in conn.execute("select learner_id from awards where state = 'awarded'")
        }
    return event_ids, progress, awarded


@pytest.mark.slow
async def test_sigkill_mid_stream_loses_nothing_acked(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    url = f"sqlite:///{db}"
    events = all_events()
    server = start_server(url)
    acked: list[str] = []
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            s = stubs(channel)
            await apply_and_activate(s, RULES, TEMPLATE)
            call = s.events.StreamEvents(batches(events))
            with pytest.raises(grpc.aio.AioRpcError) as cut:
                async for reply in call:
                    acked += [
                        r.event_id
                        for r in reply.results
                        if r.outcome == event_pb2.EVENT_OUTCOME_ACCEPTED
                    ]
                    if reply.sequence == KILL_AFTER_BATCHES:
                        server.kill()
            assert cut.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        if server.process.poll() is None:
            server.kill()

    assert len(acked) >= KILL_AFTER_BATCHES * BATCH
    event_ids, progress, awarded = stored_state(db)
    assert set(acked) <= event_ids, "an acked event is missing from the event log"
    for event_id in acked:
        course, index = event_id.split("-")
        assert course.lower() in progress[f"learner-{index}"], f"effect of {event_id} lost"
    expected_awards = {f"learner-{e.split('-')[1]}" for e in acked if e.startswith("B-")}
    assert expected_awards <= awarded

    restarted = start_server(url)
    try:
        async with grpc.aio.insecure_channel(restarted.target) as channel:
            s = stubs(channel)
            outcomes: dict[int, int] = {}
            async for reply in s.events.StreamEvents(batches(events)):
                for r in reply.results:
                    outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    finally:
        assert restarted.terminate() == 0  # SIGTERM: a clean, graceful exit
    messages = restarted.messages()
    assert messages[-1] == "stopped" and "shutting down" in messages

    event_ids, progress, awarded = stored_state(db)
    duplicates = outcomes.get(event_pb2.EVENT_OUTCOME_DUPLICATE, 0)
    committed_unacked = duplicates - len(acked)
    print(
        f"crash: acked before SIGKILL {len(acked)}, committed but unacked {committed_unacked}, "
        f"resent accepted {outcomes.get(event_pb2.EVENT_OUTCOME_ACCEPTED, 0)}, "
        f"duplicates {duplicates}"
    )
    assert committed_unacked >= 0
    assert outcomes.get(event_pb2.EVENT_OUTCOME_REJECTED, 0) == 0
    assert len(event_ids) == 2 * TOTAL_LEARNERS
    assert len(awarded) == TOTAL_LEARNERS
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from awards").fetchone()[0] == TOTAL_LEARNERS
