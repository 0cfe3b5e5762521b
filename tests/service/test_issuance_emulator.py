"""Issuance against the emulated Credly over real HTTP, with the faults of a bad day:
20% of calls answered 5xx, 429s with Retry-After, 200 ms latency and connections dropped
after the badge was created. 1,000 awards must end as exactly 1,000 provider badges.

Retry delays are real datetimes; instead of sleeping, the test moves the worker's clock
to the next retry whenever nothing is due."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import dsl
from server.domain import LearnerRecord, OutboxState
from server.engine.events import IncomingEvent
from server.engine.processor import process_batch
from server.engine.ruleset import ActiveRules
from server.providers.base import BadgeProvider
from server.providers.credly import CredlyClient
from server.providers.emulator import EmulatorServer, EmulatorState, Faults
from server.store import ensure_templates, list_outbox, make_session_factory
from server.store.batch_store import SqlBatchStore
from server.store.db import create_engine_for, migrate
from server.transactions import TransactionRunner
from server.worker.issuance import IssuanceWorker
from server.worker.policy import CircuitBreaker, RetryPolicy

AWARDS = 1000
START = datetime(2026, 1, 1, tzinfo=UTC)


class _Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


class _OneConnection:
    def __init__(self, client: BadgeProvider) -> None:
        self.client = client

    def for_template(self, template_id: str) -> tuple[str, BadgeProvider] | None:
        return "credly:org", self.client


@pytest.fixture
async def emulator() -> AsyncIterator[EmulatorServer]:
    faults = Faults(
        error_rate=0.2,
        rate_limit_rate=0.05,
        retry_after_seconds=1,
        latency_ms=200,
        drop_rate=0.05,
        seed=11,
    )
    async with EmulatorServer(EmulatorState(), faults) as server:
        yield server


async def test_a_thousand_awards_become_exactly_a_thousand_badges(
    emulator: EmulatorServer, tmp_path: Path
) -> None:
    org = emulator.state.credly.add_organization("Bad Day Academy")
    template = emulator.state.credly.add_template(org.id, "Resilience")
    template_id = f"credly:{template.id}"

    engine = create_engine_for(f"sqlite:///{tmp_path / 'i.db'}")
    migrate(engine)
    runner = TransactionRunner(make_session_factory(engine))
    rules_text = f'badge "r" {{\n template credly "{template.id}"\n require on course_passed\n}}\n'
    rules = ActiveRules(1, dsl.compile_rules([dsl.SourceFile("r", rules_text)]), [template_id])
    events = [
        IncomingEvent(
            f"e{i}",
            "org.openedx.learning.course.passing.status.updated.v1",
            LearnerRecord(f"l{i}", f"learner{i}@example.org", "Learner", str(i)),
            START,
            {},
        )
        for i in range(AWARDS)
    ]

    def award_all(session):  # noqa: ANN001, ANN202
        ensure_templates(session, [("credly", template.id, "r", "")], START)
        for chunk in range(0, AWARDS, 250):
            process_batch(rules, events[chunk : chunk + 250], SqlBatchStore(session), START)

    await runner.write(award_all)

    clock = _Clock()
    client = CredlyClient(org.id, org.token, base_url=emulator.credly_url)
    worker = IssuanceWorker(
        runner,
        _OneConnection(client),
        policy=RetryPolicy(max_attempts=25, base_delay=0.5, max_delay=30.0),
        breaker=CircuitBreaker(clock=lambda: clock().timestamp(), threshold=20, cooldown=5.0),
        clock=clock,
        rng=random.Random(5),
        batch=200,
        concurrency=64,
    )
    try:
        for _ in range(500):
            if await worker.run_once():
                continue
            pending = [i for i in await runner.read(list_outbox) if i.state is OutboxState.PENDING]
            if not pending:
                break
            due = min(i.next_attempt_at for i in pending if i.next_attempt_at is not None)
            clock.offset += max(due - clock(), timedelta()) + timedelta(milliseconds=1)
    finally:
        await client.aclose()
        runner.close()
        engine.dispose()

    items = await _items(tmp_path)
    badges = emulator.state.credly_badges(org.id)
    injected = dict(emulator.faults.injected)
    print(
        f"issuance: {len(badges)} provider badges for {AWARDS} awards; faults injected {injected}; "
        f"attempts {sum(i.attempts for i in items)} retries, "
        f"{sum(i.outcome_unknown for i in items)} outcomes unknown and resolved by lookup"
    )
    assert {i.state for i in items} == {OutboxState.SENT}
    assert len(badges) == AWARDS
    assert len({b["recipient_email"] for b in badges}) == AWARDS
    assert sorted(i.provider_badge_id for i in items) == sorted(b["id"] for b in badges)
    assert injected.get("drop", 0) > 0 and injected.get("503", 0) > 0 and injected.get("429", 0) > 0


async def _items(tmp_path: Path):  # noqa: ANN202
    engine = create_engine_for(f"sqlite:///{tmp_path / 'i.db'}")
    try:
        with make_session_factory(engine)() as session:
            return list_outbox(session)
    finally:
        engine.dispose()
