"""The event log's retention: old events swept through the writer, recent ones kept,
0 keeps everything; a swept event id is accepted again (the log is the idempotency
record) and a backfill no longer sees it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest
from badgeflow.v1 import event_pb2, event_service_pb2

from server.app import App
from server.ingest import utcnow
from server.retention import RetentionSweeper, sweep_events
from server.settings import SettingsError, load_settings
from server.store import count_events
from tests.service.stubs import Stubs, passed, stubs


@pytest.fixture
async def s(target: str) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(target) as channel:
        yield stubs(channel)


async def _publish(s: Stubs, *ids: str) -> list[int]:
    events = [passed(i, "ada") for i in ids]
    reply = await s.events.PublishEvents(event_service_pb2.PublishEventsRequest(events=events))
    return [r.outcome for r in reply.results]


async def _count(app: App) -> int:
    return await app.runner.read(count_events)


@pytest.mark.parametrize(
    ("days", "later", "left"),
    [
        pytest.param(365, timedelta(days=366), 0, id="older-than-retention-swept"),
        pytest.param(365, timedelta(days=364), 3, id="recent-kept"),
        pytest.param(0, timedelta(days=10_000), 3, id="zero-keeps-all"),
    ],
)
async def test_the_sweep_deletes_only_events_older_than_the_retention(
    app: App, s: Stubs, days: int, later: timedelta, left: int
) -> None:
    await _publish(s, "e1", "e2", "e3")

    deleted = await sweep_events(app.runner, days, utcnow() + later, chunk=2)

    assert (deleted, await _count(app)) == (3 - left, left)


async def test_a_swept_event_id_is_accepted_again(app: App, s: Stubs) -> None:
    assert await _publish(s, "e1") == [event_pb2.EVENT_OUTCOME_ACCEPTED]
    assert await _publish(s, "e1") == [event_pb2.EVENT_OUTCOME_DUPLICATE]
    await sweep_events(app.runner, 1, utcnow() + timedelta(days=2))
    assert await _publish(s, "e1") == [event_pb2.EVENT_OUTCOME_ACCEPTED]


async def test_the_sweeper_sweeps_at_start_and_stops(app: App, s: Stubs) -> None:
    await _publish(s, "e1")
    kept = RetentionSweeper(app.runner, 0, clock=lambda: utcnow() + timedelta(days=999))
    await kept.start().stop()
    assert await _count(app) == 1
    sweeper = RetentionSweeper(app.runner, 30, clock=lambda: utcnow() + timedelta(days=31))
    await sweeper.start().stop()
    assert await _count(app) == 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("30", 30, id="days"),
        pytest.param("0", 0, id="keep-all"),
        pytest.param("-1", None, id="negative"),
    ],
)
def test_the_retention_setting(value: str, expected: int | None) -> None:
    environ = {"BADGEFLOW_EVENT_RETENTION_DAYS": value}
    if expected is None:
        with pytest.raises(SettingsError, match="event_retention_days must not be negative"):
            load_settings(environ)
    else:
        assert load_settings(environ).event_retention_days == expected
