"""The whole chain — rules, activation, streamed events, awards, penalty, restart — on a
real server over PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from badgeflow.v1 import event_pb2, event_service_pb2, progress_pb2, progress_service_pb2

from server.app import App, build_server
from server.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.service.stubs import apply_and_activate, passed, stubs, undecodable_events

RULES = """
badge "a-and-b" {
    template accredible 4242
    require a: on course_passed where is_passing and course.course_key == "A"
    any {
        require b: on course_passed where is_passing and course.course_key == "B"
        require c: on course_passed where is_passing and course.course_key == "C"
    }
    penalty on course_passed where is_passing == false and course.course_key == "A" resets a
}
"""
TEMPLATE = "accredible:4242"


async def _serve(url: str) -> App:
    return await build_server(
        Settings(
            grpc_port=0,
            database_url=url,
            shutdown_grace_seconds=1.0,
            secret_key=TEST_SECRET_KEY,
            http_port=0,
        )
    )


@pytest.fixture
async def pg_app(schema_url: str) -> AsyncIterator[App]:
    app = await _serve(schema_url)
    try:
        yield app
    finally:
        await app.stop(1.0)


async def _award_state(channel: grpc.aio.Channel, learner: str) -> int:
    reply = await stubs(channel).progress.GetLearnerProgress(
        progress_service_pb2.GetLearnerProgressRequest(learner_id=learner)
    )
    return reply.progress[0].award.state


@pytest.mark.postgres
async def test_events_award_and_penalty_revokes_on_postgres(pg_app: App, schema_url: str) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{pg_app.port}") as channel:
        s = stubs(channel)
        await apply_and_activate(s, RULES, TEMPLATE)
        batches = [
            event_service_pb2.StreamEventsRequest(
                sequence=1, events=[passed("p1", "ada", "A"), passed("p2", "bo", "A")]
            ),
            event_service_pb2.StreamEventsRequest(
                sequence=2, events=[passed("p3", "ada", "C"), passed("p1", "ada", "A")]
            ),
            event_service_pb2.StreamEventsRequest(
                sequence=3, events=[passed("p4", "ada", "A", passing=False)]
            ),
        ]
        acks = [r async for r in s.events.StreamEvents(iter(batches))]
        assert [r.outcome for r in acks[1].results] == [
            event_pb2.EVENT_OUTCOME_ACCEPTED,
            event_pb2.EVENT_OUTCOME_DUPLICATE,
        ]
        assert await _award_state(channel, "ada") == progress_pb2.AWARD_STATE_REVOKED
        page = await s.progress.ListTemplateProgress(
            progress_service_pb2.ListTemplateProgressRequest(template_id=TEMPLATE)
        )
        assert [(r.learner_id, r.fulfilled_groups) for r in page.records] == [("ada", 1), ("bo", 1)]

    # A restart on the same database keeps rules, activation and state.
    await pg_app.stop(1.0)
    again = await _serve(schema_url)
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{again.port}") as channel:
            reply = await stubs(channel).events.PublishEvents(
                event_service_pb2.PublishEventsRequest(events=[passed("p5", "ada", "A")])
            )
            assert reply.results[0].outcome == event_pb2.EVENT_OUTCOME_ACCEPTED
            assert await _award_state(channel, "ada") == progress_pb2.AWARD_STATE_AWARDED
    finally:
        await again.stop(1.0)


@pytest.mark.postgres
async def test_undecodable_events_do_not_fail_their_batch_on_postgres(pg_app: App) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{pg_app.port}") as channel:
        reply = await stubs(channel).events.PublishEvents(
            event_service_pb2.PublishEventsRequest(events=undecodable_events())
        )
    assert [r.reason_code for r in reply.results] == ["INVALID_PAYLOAD", "INVALID_OCCURRED_AT", ""]
    assert reply.results[2].outcome == event_pb2.EVENT_OUTCOME_ACCEPTED
