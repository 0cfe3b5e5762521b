"""The 10,000-event backfill on PostgreSQL: the right learners awarded once, a second
run awards nothing, and the retention sweep deletes through the same writer."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from server.app import App
from server.ingest import utcnow
from server.retention import sweep_events
from server.store import awards as awards_repo
from server.store import count_events, list_outbox
from tests.postgres.test_service_postgres import pg_app  # noqa: F401 - a fixture
from tests.service.stubs import stubs
from tests.service.test_backfill import (
    TWO_COURSES,
    TWO_TEMPLATE,
    _activate,
    _apply,
    _backfill,
    _four_events,
    _publish,
    _results,
)


@pytest.mark.postgres
async def test_ten_thousand_stored_events_backfill_once_on_postgres(
    pg_app: App,  # noqa: F811 - the fixture imported above
) -> None:
    learners = [f"learner-{i:04d}" for i in range(2500)]
    expected = sorted(learner for i, learner in enumerate(learners) if i % 7 == 0)
    events = [e for i, learner in enumerate(learners) for e in _four_events(i, learner)]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{pg_app.port}") as channel:
        s = stubs(channel)
        for start in range(0, len(events), 1000):
            await _publish(s, events[start : start + 1000])
        await _apply(s, TWO_COURSES)
        await _activate(s, TWO_TEMPLATE)

        first = await _backfill(s, TWO_TEMPLATE)
        second = await _backfill(s)

    assert _results(first)[TWO_TEMPLATE][:4] == (expected, len(expected), 0, 0)
    assert (first[-1].events_total, first[-1].events_replayed) == (10_000, 10_000)
    assert _results(second)[TWO_TEMPLATE][:4] == ([], 0, len(expected), 0)
    holders = await pg_app.runner.read(lambda s: awards_repo.holders(s, TWO_TEMPLATE))
    assert holders == set(expected)
    assert len(await pg_app.runner.read(list_outbox)) == len(expected)
    deleted = await sweep_events(pg_app.runner, 30, utcnow() + timedelta(days=31), chunk=4000)
    assert (deleted, await pg_app.runner.read(count_events)) == (10_000, 0)
