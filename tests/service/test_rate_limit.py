"""BADGEFLOW_MAX_EVENTS_PER_SECOND_PER_CLIENT on a real server: a stream is paced (all
accepted, and no faster than the limit allows), a PublishEvents call over the limit is
refused whole with RESOURCE_EXHAUSTED RATE_LIMITED and when to retry, and clients with
different API keys have their own budgets."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from badgeflow.v1 import event_pb2
from badgeflow_client import AsyncBadgeflowClient, ResourceExhausted

from server.app import App, build_server
from server.auth import Role
from tests.service.conftest import add_keys, secured_settings
from tests.service.stubs import passed

RATE = 200.0  # events a second; a client may send one second's worth at once


@pytest.fixture
async def limited(sqlite_url: str) -> AsyncIterator[tuple[App, dict[Role, str]]]:
    app = await build_server(secured_settings(sqlite_url, max_events_per_second_per_client=RATE))
    try:
        keys, _revoked = await add_keys(app)
        yield app, keys
    finally:
        await app.stop(1.0)


def _events(prefix: str, count: int) -> list[event_pb2.Event]:
    return [passed(f"{prefix}-{i}", f"learner-{i}") for i in range(count)]


async def test_a_stream_is_paced_not_refused(limited: tuple[App, dict[Role, str]]) -> None:
    app, keys = limited
    async with AsyncBadgeflowClient(
        f"127.0.0.1:{app.port}", api_key=keys[Role.PUBLISHER]
    ) as client:
        started = time.monotonic()
        results = [r async for r in client.stream_events(_events("s", 600), batch_size=50)]
        took = time.monotonic() - started
    assert [r.outcome for r in results] == [event_pb2.EVENT_OUTCOME_ACCEPTED] * 600
    # 200 at once, then 400 at 200 a second: the limit's own arithmetic, a lower bound.
    assert took >= 400 / RATE - 0.3


async def test_publish_over_the_limit_is_refused_whole_with_when_to_retry(
    limited: tuple[App, dict[Role, str]],
) -> None:
    app, keys = limited
    target = f"127.0.0.1:{app.port}"
    async with AsyncBadgeflowClient(target, api_key=keys[Role.PUBLISHER], retries=False) as one:
        started = time.monotonic()
        first = await one.publish_events(_events("a", 200))
        with pytest.raises(ResourceExhausted) as refused:
            await one.publish_events(_events("b", 100))
        elapsed = time.monotonic() - started
    async with AsyncBadgeflowClient(target, api_key=keys[Role.ADMIN]) as other:
        elsewhere = await other.publish_events(_events("c", 100))
    assert [r.outcome for r in first] == [event_pb2.EVENT_OUTCOME_ACCEPTED] * 200
    assert refused.value.reason == "RATE_LIMITED"
    # 100 events over an empty bucket is half a second at 200 a second, less what flowed
    # back in while the first call was served (its time is the test's, not a constant).
    assert refused.value.retry_after is not None
    assert 0.5 - elapsed <= refused.value.retry_after <= 0.5
    assert [r.outcome for r in elsewhere] == [event_pb2.EVENT_OUTCOME_ACCEPTED] * 100
    async with AsyncBadgeflowClient(target, api_key=keys[Role.ADMIN]) as reader:
        again = await reader.publish_events(_events("b", 1))
    assert [r.outcome for r in again] == [event_pb2.EVENT_OUTCOME_ACCEPTED]  # nothing of b kept
