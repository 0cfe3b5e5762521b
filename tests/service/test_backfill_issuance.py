"""Backfilled awards reach the provider through the outbox, as live ones do: the
issuance worker issues each exactly once."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

import dsl
from server.backfill import Backfiller
from server.domain import AwardOrigin, LearnerRecord, OutboxState
from server.engine.broadcast import AwardBroadcaster
from server.engine.events import IncomingEvent
from server.engine.processor import process_batch
from server.engine.ruleset import ActiveRules
from server.ingest import RulesHolder
from server.store import ensure_templates, list_outbox, make_session_factory
from server.store import learner_awards as learner_awards_of
from server.store.batch_store import SqlBatchStore
from server.store.db import create_engine_for, migrate
from server.transactions import TransactionRunner
from server.worker.issuance import IssuanceWorker
from server.worker.policy import CircuitBreaker, RetryPolicy
from tests.service.fake_provider import FakeProvider
from tests.service.test_issuance_worker import NOW, PASSED, RULES, TEMPLATE, Resolver


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[TransactionRunner]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'b.db'}")
    migrate(engine)
    runner = TransactionRunner(make_session_factory(engine))
    try:
        yield runner
    finally:
        runner.close()
        engine.dispose()


async def _log_events(runner: TransactionRunner, rule_set: dsl.RuleSet, learners: int) -> None:
    """Events logged while no template was active: nothing awarded live."""
    events = [
        IncomingEvent(
            f"e{i}", PASSED, LearnerRecord(f"l{i}", f"l{i}@example.org"), NOW, {"is_passing": True}
        )
        for i in range(learners)
    ]

    def work(session):  # noqa: ANN001, ANN202
        ensure_templates(session, [("credly", "t-1", "b", "")], NOW)
        process_batch(ActiveRules(1, rule_set, []), events, SqlBatchStore(session), NOW)

    await runner.write(work)


async def test_backfilled_awards_are_issued_once_by_the_worker(runner: TransactionRunner) -> None:
    rule_set = dsl.compile_rules([dsl.SourceFile("b", RULES)])
    await _log_events(runner, rule_set, 40)
    holder = RulesHolder(ActiveRules(1, rule_set, [TEMPLATE]))

    reports = [r async for r in Backfiller(runner, holder, AwardBroadcaster()).run([], False)]

    assert reports[-1].awards == 40
    provider = FakeProvider()
    worker = IssuanceWorker(
        runner,
        Resolver(provider),  # type: ignore[arg-type]
        policy=RetryPolicy(max_attempts=5, base_delay=0.0),
        breaker=CircuitBreaker(clock=lambda: 0.0),
        rng=random.Random(1),
    )
    while await worker.run_once():
        pass
    assert {i.state for i in await runner.read(list_outbox)} == {OutboxState.SENT}
    assert len(provider.badges) == 40
    [award] = await runner.read(lambda s: learner_awards_of(s, "l7"))
    assert award.origin is AwardOrigin.BACKFILL
