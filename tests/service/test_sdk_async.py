"""`AsyncBadgeflowClient` end to end on the server's own event loop: apply, activate,
watch, stream events from an async generator, and read the award back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from badgeflow.v1 import event_pb2, progress_pb2
from badgeflow_client import AsyncBadgeflowClient

from tests.service.test_sdk import RULES, TEMPLATE_ID, passed

ACCEPTED = event_pb2.EVENT_OUTCOME_ACCEPTED


async def _events(count: int) -> AsyncIterator[event_pb2.Event]:
    for i in range(count):
        yield passed(f"e{i}", f"L{i}")


async def test_apply_watch_stream_and_see_the_award(target: str) -> None:
    async with AsyncBadgeflowClient(target) as client:
        applied = await client.apply_rules({"rules/demo.badge": RULES})
        assert list(applied.created_template_ids) == [TEMPLATE_ID]
        assert (await client.activate_template(TEMPLATE_ID)).active is True

        watch = client.watch_awards(learner_id="L1")
        await watch.wait_subscribed()
        results = [r async for r in client.stream_events(_events(5), batch_size=2)]
        assert [(r.event_id, r.outcome) for r in results] == [(f"e{i}", ACCEPTED) for i in range(5)]

        change = await anext(watch)
        watch.cancel()
        assert (change.kind, change.award.learner_id, list(change.award.event_ids)) == (
            progress_pb2.AWARD_EVENT_KIND_AWARDED,
            "L1",
            ["e1"],
        )
        progress = await client.learner_progress("L1")
        assert [(p.template_id, p.percent) for p in progress.progress] == [(TEMPLATE_ID, 100.0)]
        pager = client.template_progress(TEMPLATE_ID, completed_only=True, page_size=2)
        assert [r.learner_id async for r in pager] == [f"L{i}" for i in range(5)]
        assert [len(page.records) async for page in pager.pages()] == [2, 2, 1]
        assert [t.id async for t in client.list_templates(active_only=True)] == [TEMPLATE_ID]


async def test_stream_events_takes_a_plain_iterable(target: str) -> None:
    async with AsyncBadgeflowClient(target) as client:
        events = [passed("e1", "L1"), event_pb2.Event(id="e2", type="x")]
        results = [r async for r in client.stream_events(events)]
    assert [(r.event_id, r.reason_code) for r in results] == [("e1", ""), ("e2", "MISSING_LEARNER")]


async def test_stopping_a_stream_early_cancels_it(target: str) -> None:
    async with AsyncBadgeflowClient(target) as client:
        await client.apply_rules({"rules/demo.badge": RULES})
        stream = client.stream_events(_events(4), batch_size=1)
        first = await anext(stream)
        await stream.aclose()  # what `break` in `async for` leads to
        assert first.event_id == "e0"
        # the client is still usable after the cancelled stream
        assert (await client.get_rules()).version == 1


async def test_bad_batch_size_fails_before_sending() -> None:
    async with AsyncBadgeflowClient("127.0.0.1:1") as client:
        with pytest.raises(ValueError) as raised:
            await anext(client.stream_events([], batch_size=0))
    assert str(raised.value) == "batch_size must be between 1 and 1000, not 0"


async def test_a_watch_can_be_cancelled_from_another_task(target: str) -> None:
    async with AsyncBadgeflowClient(target) as client:
        watch = client.watch_awards()
        await watch.wait_subscribed()
        reader = asyncio.create_task(anext(watch, None))
        watch.cancel()
        assert await reader is None
        assert await anext(watch, None) is None
